"""An OAuth 2.0 authorization server as a reusable Django app."""

__version__ = "0.1.0"
