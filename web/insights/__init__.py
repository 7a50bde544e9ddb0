"""insights pages."""

from flask import Blueprint

bp = Blueprint("insights", __name__)

__all__ = ["bp"]
