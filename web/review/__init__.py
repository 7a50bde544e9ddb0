"""review pages."""

from flask import Blueprint

bp = Blueprint("review", __name__)

__all__ = ["bp"]
