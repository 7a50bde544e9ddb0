"""Review pages: the improvement team's dashboard per process, proposals, flags and the outbox."""

from flask import Blueprint

bp = Blueprint("review", __name__)

from web.review import views  # noqa: E402,F401  (registers the routes on bp)

__all__ = ["bp"]
