"""public pages."""

from flask import Blueprint

bp = Blueprint("public", __name__)

__all__ = ["bp"]
