"""One launch, step by step: check the target, start the server, write, link."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from . import notebooks
from .config import Settings
from .hub import HubClient, ProgressCallback
from .paths import NotebookTarget
from .problems import LauncherProblem

log = logging.getLogger(__name__)


class Launcher:
    """Holds the settings and the hub client that every request shares."""

    def __init__(self, settings: Settings, hub: HubClient | None = None) -> None:
        self.settings = settings
        self.hub = hub or HubClient(settings)

    def public_base(self, origin: str | None) -> str:
        base = self.settings.public_url
        if base.startswith("/") or base == "":
            if not origin or origin == "null":
                raise LauncherProblem(
                    "missing-origin",
                    "The launcher links to JupyterHub relative to the page that called it, "
                    "but the request has no Origin header",
                )
            return origin.rstrip("/") + base
        return base

    def lab_url(
        self,
        base: str,
        user: str,
        target: NotebookTarget,
        filename: str,
        server: str = "",
    ) -> str:
        server_part = f"/{quote(server, safe='')}" if server else ""
        path = "/".join(quote(s, safe="") for s in (*target.directory, filename))
        return (
            f"{base}/user/{quote(user, safe='')}{server_part}/lab/workspaces/"
            f"{quote(target.workspace, safe='')}/tree/{path}"
        )

    def launch(
        self,
        kind: str,
        body: dict[str, Any],
        user: str,
        origin: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> str:
        """Launch the notebook of `kind` for `user` and return the URL that opens it."""
        target = NotebookTarget.from_request(body["notebook"])
        base = self.public_base(origin)
        notebook = notebooks.build(kind, body)
        server = ""
        if not self.hub.start_server(user, server):
            self.hub.wait_until_ready(user, server, on_progress)
        self.hub.make_directories(user, server, target.directory)
        written = self.hub.write_notebook(
            user, server, target.directory, target.filename, notebook, overwrite=target.overwrite
        )
        log.info("launched %s for %s as %s", kind, user, "/".join((*target.directory, written)))
        return self.lab_url(base, user, target, written, server)
