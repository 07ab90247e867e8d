"""The one place that talks to JupyterHub: its REST API and, through its proxy, the
contents API of a user's server.

Every call has a timeout, every path segment is quoted, and every failure becomes a
`LauncherProblem` that names what went wrong without the hub's URLs or the token.
"""

from .client import HubClient
from .progress import ProgressCallback

__all__ = ["HubClient", "ProgressCallback"]
