"""Admin pages: the organisation's users, invitations, roles, settings and activity."""

from web.admin import activity as _activity  # noqa: F401  (registers the activity pages)
from web.admin.views import bp

__all__ = ["bp"]
