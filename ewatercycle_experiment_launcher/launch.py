"""One launch, step by step: check the target, start the server, write, link."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import metrics, notebooks
from .config import Settings
from .hub import HubClient, ProgressCallback
from .locks import FolderClaims
from .paths import NotebookTarget, is_text
from .problems import LauncherProblem

log = logging.getLogger(__name__)

GONE_RETRIES = 4


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class Plan:
    """A checked request: what to write, where, and for whom."""

    kind: str
    user: str
    target: NotebookTarget
    notebook: dict[str, Any]
    base: str


class Launcher:
    """Holds the settings and the hub client that every request shares."""

    def __init__(self, settings: Settings, hub: HubClient | None = None) -> None:
        self.settings = settings
        self.hub = hub or HubClient(settings)
        self.folders = FolderClaims(settings)

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

    def lab_url(self, base: str, user: str, target: NotebookTarget, filename: str) -> str:
        server_part = f"/{quote(target.server, safe='')}" if target.server else ""
        path = "/".join(quote(s, safe="") for s in (*target.directory, filename))
        return (
            f"{base}/user/{quote(user, safe='')}{server_part}/lab/workspaces/"
            f"{quote(target.workspace, safe='')}/tree/{path}"
        )

    def preview(self, kind: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The file name and notebook a launch would write, without touching the hub."""
        target = NotebookTarget.from_request(body["notebook"])
        return target.filename, self._build(kind, body)

    @staticmethod
    def _build(kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if not all(is_text(value) for value in _strings(body)):
            raise LauncherProblem(
                "invalid-setup", "The request contains text that is not valid Unicode"
            )
        try:
            return notebooks.build(kind, body)
        except ValueError as error:
            raise LauncherProblem("invalid-setup", str(error)[:300]) from None

    def prepare(
        self, kind: str, body: dict[str, Any], user: str, origin: str | None = None
    ) -> Plan:
        """Everything the request controls, checked before the first call to the hub."""
        try:
            target = NotebookTarget.from_request(body["notebook"])
            base = self.public_base(origin)
            notebook = self._build(kind, body)
        except LauncherProblem as problem:
            metrics.LAUNCHES.labels(kind, problem.code).inc()
            raise
        return Plan(kind, user, target, notebook, base)

    def run(self, plan: Plan, on_progress: ProgressCallback | None = None) -> str:
        """Write the notebook, starting the server when it is not running, and return the
        URL that opens it."""
        started = time.perf_counter()
        try:
            written = self._write(plan, on_progress)
        except LauncherProblem as problem:
            self._failed(plan.kind, problem, started)
            raise
        except Exception:
            self._count(plan.kind, "internal-error", started)
            raise
        self._count(plan.kind, "success", started)
        folder = "/".join(plan.target.directory)
        log.info("launched %s for %s as %s/%s", plan.kind, plan.user, folder, written)
        return self.lab_url(plan.base, plan.user, plan.target, written)

    def _failed(self, kind: str, problem: LauncherProblem, started: float) -> None:
        """Tell the caller what a failed launch left behind, and count it."""
        if "written" in problem.ext:
            problem.detail += (
                f"; the folder '{problem.ext['written']['directory']}' may have been "
                "created, no notebook was written"
            )
        self._count(kind, problem.code, started)
        if problem.code in metrics.UPSTREAM_CODES:
            metrics.UPSTREAM_ERRORS.labels(problem.code).inc()

    def _write(self, plan: Plan, on_progress: ProgressCallback | None) -> str:
        """Most launches find the server running: write first, start it only when the
        write finds no server. Not for a named server: while it is not running, its URL
        is inside the default server's, which answers instead. The hub can take a server
        that just died for a running one until it notices, so starting and writing are
        tried a few times."""
        if plan.target.server:
            self._start(plan.user, plan.target.server, on_progress)
        attempt = 0
        while True:
            try:
                return self._put(plan)
            except LauncherProblem as problem:
                if problem.code != "server-gone" or attempt == GONE_RETRIES:
                    raise
            if attempt:
                log.info("server of %s was gone again; starting it once more", plan.user)
                time.sleep(attempt * 0.5)
            self._start(plan.user, plan.target.server, on_progress)
            attempt += 1

    def _put(self, plan: Plan) -> str:
        user, target = plan.user, plan.target
        try:
            with self.folders.hold(user, target.server, *target.directory):
                self.hub.contents.make_directories(user, target.server, target.directory)
                return self.hub.notebooks.write(
                    user,
                    target.server,
                    target.directory,
                    target.filename,
                    plan.notebook,
                    overwrite=target.overwrite,
                )
        except LauncherProblem as problem:
            if problem.code not in ("server-gone", "shared-state-unavailable"):
                problem.ext["written"] = {
                    "directory": "/".join(target.directory),
                    "notebook": None,
                }
            raise

    def _start(self, user: str, server: str, on_progress: ProgressCallback | None) -> None:
        try:
            ready = self.hub.servers.start(user, server)
        except LauncherProblem as problem:
            if problem.code != "user-not-on-hub" or not self.settings.create_users:
                raise
            self.hub.servers.create_user(user)
            ready = self.hub.servers.start(user, server)
        if not ready:
            with metrics.SPAWN_WAIT.time():
                self.hub.servers.wait_until_ready(user, server, on_progress)

    @staticmethod
    def _count(kind: str, outcome: str, started: float) -> None:
        metrics.LAUNCHES.labels(kind, outcome).inc()
        metrics.LAUNCH_DURATION.labels(kind, outcome).observe(time.perf_counter() - started)
