"""The organisation archive file: a zip of JSON documents with a manifest and checksums.

Layout (format version 1, documented in docs/DEPLOY.md):

``manifest.json``
    ``{"format": "leanlane-organisation", "format_version": 1, "app_version": "0.1.0",
    "schema_revision": "0003", "exported_at": "2026-12-02T04:00:00Z",
    "organisation": {"id": 7, "name": "Acme"},
    "tables": {"users": {"file": "tables/users.json", "rows": 4, "sha256": "..."}, ...}}``
``tables/<table>.json``
    ``{"columns": ["id", "org_id", ...], "rows": [[1, 7, ...], ...]}``

Reading trusts nothing: the file's size, the number of members and the bytes each member
unpacks to are bounded before anything is decompressed past the limit (a zip bomb stops at the
limit), every member must be listed in the manifest with its SHA-256, and JSON must be plain
(no ``NaN``, no nesting deeper than the format needs). Problems are collected as sentences that
name the member and what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from workflow.services.errors import InvalidInput

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "ArchiveError",
    "ArchiveLimits",
    "ArchiveTable",
    "UnpackedArchive",
    "pack",
    "unpack",
]

FORMAT = "leanlane-organisation"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MANIFEST = "manifest.json"
MAX_PROBLEMS = 20
_CHUNK = 1 << 16
#: What the zip reader raises on damaged bytes (headers, compressed data, unknown versions).
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    struct.error,
)


class ArchiveError(InvalidInput):
    """The archive is refused; ``problems`` lists what is wrong, first problems first."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"The archive was not imported: {problems[0]}{more}", "", shown)


@dataclass(frozen=True)
class ArchiveLimits:
    """How large an archive may be, packed and unpacked (a bound against decompression bombs)."""

    max_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    max_members: int = 500


@dataclass
class ArchiveTable:
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class UnpackedArchive:
    manifest: dict[str, Any]
    tables: dict[str, ArchiveTable] = field(default_factory=dict)


def _dumps(value: Any) -> bytes:
    """Compact JSON in ASCII: any text, however odd, is written as escapes and read back."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def pack(manifest: dict[str, Any], tables: dict[str, ArchiveTable]) -> bytes:
    """The archive's bytes; ``manifest`` gets the table list with row counts and checksums."""
    members: dict[str, bytes] = {}
    listing: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        data = _dumps({"columns": table.columns, "rows": table.rows})
        path = f"tables/{name}.json"
        members[path] = data
        listing[name] = {
            "file": path,
            "rows": len(table.rows),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "tables": listing}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        for path, data in members.items():
            zf.writestr(path, data)
    return buffer.getvalue()


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _loads(data: bytes, member: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ArchiveError([f"{member} is not UTF-8 text"]) from None
    except RecursionError:
        raise ArchiveError([f"{member} nests JSON too deeply"]) from None
    except ValueError as exc:
        raise ArchiveError([f"{member} is not valid JSON ({exc})"]) from None


class _Reader:
    """Reads members of a zip with one budget of unpacked bytes for the whole archive."""

    def __init__(self, zf: zipfile.ZipFile, limits: ArchiveLimits) -> None:
        self.zf = zf
        self.left = limits.max_unpacked_bytes
        self.limit = limits.max_unpacked_bytes

    def read(self, info: zipfile.ZipInfo) -> bytes:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError([f"{info.filename} uses a compression this reader does not accept"])
        parts: list[bytes] = []
        try:
            with self.zf.open(info) as stream:
                while chunk := stream.read(min(_CHUNK, self.left + 1)):
                    self.left -= len(chunk)
                    if self.left < 0:
                        raise ArchiveError(
                            [
                                f"the archive unpacks to more than {self.limit:,} bytes (stopped "
                                f"in {info.filename}); it is refused as a possible zip bomb"
                            ]
                        )
                    parts.append(chunk)
        except _DAMAGE as exc:
            raise ArchiveError([f"{info.filename} is damaged ({exc})"]) from None
        return b"".join(parts)


def _check_manifest(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError([f"{MANIFEST} does not describe a Leanlane organisation archive"])
    version = manifest.get("format_version")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise ArchiveError(
            [
                f"{MANIFEST}: format_version {version!r} is not supported (this release reads "
                f"version {', '.join(map(str, SUPPORTED_VERSIONS))}); export it again with a "
                "matching release"
            ]
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise ArchiveError([f"{MANIFEST}: 'tables' must list the archive's tables"])
    problems = []
    for name, entry in tables.items():
        if not (
            isinstance(entry, dict)
            and entry.get("file") == f"tables/{name}.json"
            and type(entry.get("rows")) is int
            and isinstance(entry.get("sha256"), str)
        ):
            problems.append(
                f"{MANIFEST}: table {name!r} needs file 'tables/{name}.json', rows and sha256"
            )
    if problems:
        raise ArchiveError(problems)
    return manifest


def _table(data: Any, member: str, expected_rows: int) -> ArchiveTable:
    if not isinstance(data, dict) or set(data) != {"columns", "rows"}:
        raise ArchiveError([f"{member} must be an object with 'columns' and 'rows'"])
    columns, rows = data["columns"], data["rows"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ArchiveError([f"{member}: 'columns' must be a list of column names"])
    if len(set(columns)) != len(columns):
        raise ArchiveError([f"{member}: 'columns' names a column twice"])
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and len(row) == len(columns) for row in rows
    ):
        raise ArchiveError([f"{member}: every row must be a list of {len(columns)} values"])
    if len(rows) != expected_rows:
        raise ArchiveError(
            [f"{member} holds {len(rows)} rows but the manifest says {expected_rows}"]
        )
    return ArchiveTable(columns, rows)


def unpack(data: bytes, limits: ArchiveLimits | None = None) -> UnpackedArchive:
    """The manifest and tables of an archive, or :class:`ArchiveError` saying what is wrong."""
    limits = limits or ArchiveLimits()
    if len(data) > limits.max_bytes:
        raise ArchiveError(
            [f"the archive is {len(data):,} bytes; at most {limits.max_bytes:,} are accepted"]
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _DAMAGE:
        raise ArchiveError(
            ["the file is not a Leanlane organisation archive (not a complete zip file)"]
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(
                [f"the archive has {len(infos)} files; at most {limits.max_members}"]
            )
        by_name = {info.filename: info for info in infos}
        if len(by_name) != len(infos):
            raise ArchiveError(["the archive holds two files with the same name"])
        if MANIFEST not in by_name:
            raise ArchiveError([f"the archive has no {MANIFEST}"])
        reader = _Reader(zf, limits)
        manifest = _check_manifest(_loads(reader.read(by_name[MANIFEST]), MANIFEST))
        listed = {entry["file"]: name for name, entry in manifest["tables"].items()}
        strays = sorted(set(by_name) - set(listed) - {MANIFEST})
        missing = sorted(set(listed) - set(by_name))
        if strays or missing:
            raise ArchiveError(
                [f"{path} is in the archive but not in the manifest" for path in strays]
                + [f"{path} is listed in the manifest but missing" for path in missing]
            )
        unpacked = UnpackedArchive(manifest)
        for path, name in listed.items():
            member = reader.read(by_name[path])
            entry = manifest["tables"][name]
            if hashlib.sha256(member).hexdigest() != entry["sha256"]:
                raise ArchiveError([f"{path} does not match its checksum in the manifest"])
            unpacked.tables[name] = _table(_loads(member, path), path, entry["rows"])
    return unpacked
