"""The process page every role sees, step pages where staff flag steps, and "My flags"."""

from web.staff.views import bp

__all__ = ["bp"]
