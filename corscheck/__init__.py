"""corscheck: audit an API's CORS behaviour exactly as Chromium judges it."""

__version__ = "0.1.0"
