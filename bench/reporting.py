"""What every benchmark reports the same way: the machine, the code measured, tables, and its
marked section of docs/BENCHMARKS.md."""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
DOC_INTRO = """# Benchmarks

Figures measured with the scripts in `bench/` (see `bench/README.md`). Every benchmark times a
naive baseline in the same run, because the machine is noisy: compare within a section, not
across sections or machines.
"""


def machine_info(libraries: str) -> dict[str, str]:
    """Python, CPUs, OS, the libraries a benchmark depends on, and the commit measured."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": f"{os.cpu_count()} ({usable} usable)",
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "libraries": libraries,
        "source": source_version(),
    }


def source_version() -> str:
    """The commit measured, and whether the engine had uncommitted changes."""
    try:
        version = "leanlane " + importlib.metadata.version("leanlane")
    except importlib.metadata.PackageNotFoundError:
        version = "leanlane (not installed)"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "workflow"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{version}, commit {commit}" + (" + uncommitted changes in workflow/" if dirty else "")


def fmt_s(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.4f}" if value < 10 else f"{value:.2f}"


def plain_table(head: tuple[str, ...], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out) + "\n"


def md_table(head: tuple[str, ...], rows: list[list[str]]) -> str:
    align = [":---", *("---:" for _ in head[1:])]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def marks(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, section: str, *, after: str | None = None, path: Path = DOC) -> None:
    """Replace the marked section ``name``; a new one goes after section ``after`` and the
    notes that follow it (before the next ``## `` heading or marked section), else at the end."""
    start_mark, end_mark = marks(name)
    text = path.read_text(encoding="utf-8") if path.exists() else DOC_INTRO
    start, end = text.find(start_mark), text.find(end_mark)
    section = section.rstrip("\n")
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(end_mark) :]
    else:
        at = -1
        after_mark = marks(after)[1] if after else ""
        follows = text.find(after_mark) if after else -1
        if follows != -1:
            ahead = (
                text.find("\n## ", follows),
                text.find("\n<!-- ", follows + len(after_mark)),
            )
            at = min((i for i in ahead if i != -1), default=-1)
        if at == -1:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        else:
            text = text[:at].rstrip("\n") + "\n\n" + section + "\n" + text[at:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
