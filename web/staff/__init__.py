"""staff pages."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

__all__ = ["bp"]
