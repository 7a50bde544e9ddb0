"""Errors that tell a user which field is wrong and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ModelError", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model: where (a dotted path, a line when known) and why."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        text = f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"
        return " ".join(text.split())  # one line, whatever the message quotes


class ModelError(ValueError):
    """A model that cannot be used, with every problem found in it."""

    def __init__(self, problems: Sequence[Problem], source: str = "") -> None:
        self.problems = list(problems) or [Problem("", "invalid model")]
        self.source = source
        super().__init__(str(self))

    def lines(self) -> list[str]:
        prefix = f"{self.source}: " if self.source else ""
        return [f"{prefix}{problem}" for problem in self.problems]

    def __str__(self) -> str:
        text = self.lines()[0]
        more = len(self.problems) - 1
        return f"{text} (and {more} more problem{'s' if more > 1 else ''})" if more else text
