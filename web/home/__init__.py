"""The start page and the organisation's process list, shared by every role."""

from web.home.views import bp

__all__ = ["bp"]
