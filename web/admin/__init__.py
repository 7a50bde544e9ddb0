"""Admin pages: the organisation's users, invitations, roles and settings."""

from web.admin.views import bp

__all__ = ["bp"]
