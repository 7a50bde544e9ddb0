"""Public pages for customers: journey feedback, "you said, we did", the QR code and poster."""

from web.public.views import bp

__all__ = ["bp"]
