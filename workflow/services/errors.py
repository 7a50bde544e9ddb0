"""What a use case can refuse, worded for the person who asked."""

from __future__ import annotations

__all__ = ["Forbidden", "InvalidInput", "NotFound", "ServiceError", "VersionConflict"]


class ServiceError(Exception):
    """A refusal with a message fit to show to the user."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class InvalidInput(ServiceError):
    """Bad input; ``field`` names the form field at fault ("" for the whole form)."""

    def __init__(self, message: str, field: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problems = problems or []


class VersionConflict(ServiceError):
    """Someone else saved a newer version since the editor was opened."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"This process was changed by someone else while you were editing (you started from "
            f"version {expected}; it is now at version {current}). Your changes were not saved."
        )
        self.expected = expected
        self.current = current
