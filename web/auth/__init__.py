"""Logging in and out, accepting an invitation, changing one's password."""

from web.auth.views import bp

__all__ = ["bp"]
