"""Both sides of the coin: staff and customer signals side by side, and the staff pulse."""

from web.insights.views import bp

__all__ = ["bp"]
