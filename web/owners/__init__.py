"""owners pages."""

from flask import Blueprint

bp = Blueprint("owners", __name__)

__all__ = ["bp"]
