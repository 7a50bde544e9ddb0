"""Process owners map processes in the browser: create, edit, version, compare, restore,
import, export and delete processes; link journeys to the employee steps that serve them."""

from flask import Blueprint

bp = Blueprint("owners", __name__)

from web.owners import flows, history, lanes, steps, views  # noqa: E402

__all__ = ["bp", "flows", "history", "lanes", "steps", "views"]
