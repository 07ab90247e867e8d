"""Launch links in a browser: hub login, a launch page with live progress, a link maker.

The pages sit beside the API on the same Flask application and leave its Basic and
token authentication alone: a browser is known only through the hub, as its OAuth client
(`oauth`). A link is read and checked exactly as a POST body (`linkbody`); a launch
from a page is a same-origin POST carrying a token bound to the session (`pages`).
"""

from __future__ import annotations

from .site import mount

__all__ = ["mount"]
