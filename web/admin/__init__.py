"""admin pages."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

__all__ = ["bp"]
