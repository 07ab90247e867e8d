"""The one place that talks to JupyterHub: its REST API and, through its proxy, the
contents API of a user's server.

Every call has a timeout, every path segment is quoted, and every failure becomes a
`LauncherProblem` that names what went wrong without the hub's URLs or the token.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from .config import Settings
from .problems import LauncherProblem

log = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], None]

# Which scope a 403 from each kind of call means the launcher's token lacks.
SCOPE_START = "start:servers"
SCOPE_READ = "read:servers"
SCOPE_ACCESS = "access:servers"
SCOPE_CREATE_USER = "admin:users"

MAX_FREE_NAME_TRIES = 100
POLL_INTERVAL = 0.25
PROGRESS_READ_TIMEOUT = 5.0


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _qpath(segments: tuple[str, ...] | list[str]) -> str:
    return "/".join(_q(s) for s in segments)


def _message(response: requests.Response) -> str:
    """The hub's own short explanation, without echoing a whole upstream body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:300] if message else ""


def _is_json(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/json")


def _spawn_failed(reason: str) -> LauncherProblem:
    return LauncherProblem(
        "spawn-failed",
        "JupyterHub could not start the server: " + (reason or "spawn failed")[:300],
    )


def numbered(filename: str) -> Iterator[str]:
    """experiment.ipynb, experiment-1.ipynb, experiment-2.ipynb, ..."""
    stem, dot, ext = filename.rpartition(".")
    yield filename
    for n in range(1, MAX_FREE_NAME_TRIES):
        yield f"{stem}-{n}{dot}{ext}"


class HubClient:
    """Starts users' servers and writes files into them on behalf of the launcher."""

    def __init__(self, settings: Settings, session: requests.Session | None = None) -> None:
        self.api_url = settings.hub_api_url
        self.proxy_url = settings.hub_url
        self.timeout = settings.request_timeout
        self.spawn_timeout = settings.spawn_timeout
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=128, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Authorization"] = f"token {settings.hub_token}"
        self.session.trust_env = False
        # Requests for different users share this session: it must not carry cookies.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))

    # -- plumbing ---------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        scope: str | None,
        what: str,
        server_errors: bool = True,
        contents: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout:
            raise LauncherProblem(
                "hub-timeout", f"JupyterHub did not answer in time while trying to {what}"
            ) from None
        except requests.RequestException as exc:
            log.warning("hub unreachable while trying to %s: %s", what, type(exc).__name__)
            raise LauncherProblem(
                "hub-unreachable", f"Could not connect to JupyterHub to {what}"
            ) from None
        # The hub itself answers a contents call with an HTML 403 when no server is there.
        if scope and response.status_code == 403 and (_is_json(response) or not contents):
            raise LauncherProblem(
                "hub-permission",
                f"JupyterHub refused to let the launcher {what}: its token needs the "
                f"'{scope}' scope (see jupyterhub_config.py.example)",
                scope=scope,
            )
        if server_errors and response.status_code >= 500:
            detail = _message(response)
            raise LauncherProblem(
                "hub-error",
                f"JupyterHub answered {response.status_code} while trying to {what}"
                + (f": {detail}" if detail else ""),
            )
        return response

    def _user_api(self, user: str, server: str = "") -> str:
        base = f"{self.api_url}/users/{_q(user)}"
        return f"{base}/servers/{_q(server)}" if server else f"{base}/server"

    def _contents_url(self, user: str, server: str, segments: tuple[str, ...] | list[str]) -> str:
        prefix = f"{self.proxy_url}/user/{_q(user)}/"
        if server:
            prefix += f"{_q(server)}/"
        return f"{prefix}api/contents/{_qpath(segments)}"

    # -- health -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Whether the hub answers and accepts the launcher's token."""
        report: dict[str, Any] = {"status": "ok", "hub": "reachable", "token": "valid"}
        try:
            response = self._call("GET", f"{self.api_url}/user", scope=None, what="check health")
        except LauncherProblem as problem:
            return {"status": "unhealthy", "hub": problem.code, "token": "unknown"}
        if response.status_code in (401, 403):
            report.update(status="unhealthy", token="rejected")
        elif response.status_code != 200:
            report.update(status="unhealthy", hub=f"answered {response.status_code}")
        return report

    # -- callers ----------------------------------------------------------------------

    def identify(self, token: str) -> str | None:
        """The name of the hub user who owns `token`, or None when the hub rejects it."""
        response = self._call(
            "GET",
            f"{self.api_url}/user",
            scope=None,
            what="check the caller's token",
            headers={"Authorization": f"token {token}"},
        )
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            raise LauncherProblem(
                "hub-error", f"JupyterHub answered {response.status_code} to checking a token"
            )
        model = response.json()
        if model.get("kind", "user") != "user" or not model.get("name"):
            return None
        return str(model["name"])

    # -- servers ----------------------------------------------------------------------

    def start_server(self, user: str, server: str = "") -> bool:
        """Ask for the server; True when it is ready now, False while it is starting."""
        deadline = time.monotonic() + self.spawn_timeout
        while True:
            response = self._call(
                "POST",
                self._user_api(user, server),
                scope=SCOPE_START,
                what="start the server",
                server_errors=False,
            )
            status = response.status_code
            if status == 500:
                raise self._spawn_failure(user, server, _message(response))
            if status == 201:
                return True
            if status == 202:
                return False
            message = _message(response)
            if status == 400 and "already running" in message:
                return True
            if status == 400 and "is pending stop" in message:
                if time.monotonic() > deadline:
                    raise LauncherProblem(
                        "spawn-timeout", "The server was still stopping when the wait ended"
                    )
                time.sleep(POLL_INTERVAL)
                continue
            if status == 404:
                raise LauncherProblem(
                    "user-not-on-hub",
                    f"User {user!r} is not known to JupyterHub yet: log in to JupyterHub "
                    "once, then launch again",
                )
            if status == 429:
                retry_after = response.headers.get("Retry-After", "")
                raise LauncherProblem(
                    "spawn-limit",
                    "JupyterHub is starting too many servers at once; try again later",
                    headers={"Retry-After": retry_after} if retry_after else None,
                )
            if status == 400:
                raise LauncherProblem(
                    "server-refused",
                    "JupyterHub refused to start the server" + (f": {message}" if message else ""),
                )
            raise LauncherProblem(
                "hub-error",
                f"JupyterHub answered {status} to starting the server"
                + (f": {message}" if message else ""),
            )

    def _spawn_failure(self, user: str, server: str, message: str) -> LauncherProblem:
        """The hub's 500 to a start rarely says why; its progress stream does."""
        try:
            event = self._follow_progress(user, server, min(self.timeout, 5.0), None)
        except LauncherProblem:
            event = {}
        return _spawn_failed(str(event.get("message") or "") if event.get("failed") else message)

    def create_user(self, user: str) -> None:
        """Make the user known to the hub; needs the `admin:users` scope."""
        response = self._call(
            "POST",
            f"{self.api_url}/users/{_q(user)}",
            scope=SCOPE_CREATE_USER,
            what="create the user on JupyterHub",
        )
        if response.status_code not in (201, 409):
            raise LauncherProblem(
                "hub-error", f"JupyterHub answered {response.status_code} to creating the user"
            )

    def server_state(self, user: str, server: str = "") -> dict[str, Any] | None:
        """The hub's model of one server, or None when the user has no such server."""
        response = self._call(
            "GET",
            f"{self.api_url}/users/{_q(user)}",
            scope=SCOPE_READ,
            what="read the server's state",
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LauncherProblem(
                "hub-error", f"JupyterHub answered {response.status_code} to reading the user"
            )
        return (response.json().get("servers") or {}).get(server)

    def wait_until_ready(
        self, user: str, server: str = "", on_progress: ProgressCallback | None = None
    ) -> None:
        """Follow the hub's progress stream until the server is ready, bounded by the spawn
        timeout. The stream says why a spawn failed; the user model decides when it ends."""
        deadline = time.monotonic() + self.spawn_timeout
        seen: set[str] = set()

        def relay(event: dict[str, Any]) -> None:
            # A reconnected stream repeats the events it already sent.
            key = json.dumps(event, sort_keys=True)
            if on_progress is not None and key not in seen:
                seen.add(key)
                on_progress(event)

        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LauncherProblem(
                    "spawn-timeout",
                    f"The server did not start within {self.spawn_timeout:g} s",
                )
            event = self._follow_progress(user, server, remaining, relay)
            if event.get("ready"):
                return
            if event.get("failed"):
                raise _spawn_failed(str(event.get("message") or ""))
            state = self.server_state(user, server)
            if state and state.get("ready"):
                return
            if not state or not state.get("pending"):
                raise self._spawn_failure(user, server, "the server stopped before it was ready")
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))

    def _follow_progress(
        self,
        user: str,
        server: str,
        remaining: float,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        """Read progress events until the last one; return it ({} if the stream ended).

        The hub's keep-alive comments (every 8 s) would keep a slow stream open past the
        spawn timeout, so reads time out sooner, and the time left is checked on every
        line; the caller then reconnects or gives up."""
        last: dict[str, Any] = {}
        deadline = time.monotonic() + remaining
        try:
            with self._call(
                "GET",
                f"{self._user_api(user, server)}/progress",
                scope=SCOPE_READ,
                what="follow the server's start",
                stream=True,
                timeout=(self.timeout, max(0.1, min(remaining, PROGRESS_READ_TIMEOUT))),
            ) as response:
                if response.status_code != 200:
                    return last
                for line in response.iter_lines(decode_unicode=True):
                    if time.monotonic() > deadline:
                        break
                    if not line or not line.startswith("data:"):
                        continue
                    try:
                        event = json.loads(line[5:])
                    except ValueError:
                        continue
                    if on_progress is not None:
                        on_progress(event)
                    last = event
                    if event.get("ready") or event.get("failed"):
                        break
        except LauncherProblem as problem:
            if problem.code != "hub-timeout":
                raise
        except requests.RequestException:
            pass  # a read timed out or the stream broke: the caller looks again
        return last

    # -- files --------------------------------------------------------------------------

    def _contents(
        self,
        method: str,
        user: str,
        server: str,
        segments: tuple[str, ...] | list[str],
        what: str,
        **kwargs: Any,
    ) -> requests.Response:
        response = self._call(
            method,
            self._contents_url(user, server, segments),
            scope=SCOPE_ACCESS,
            what=what,
            server_errors=False,
            contents=True,
            **kwargs,
        )
        status = response.status_code
        # Without a server behind the route, the request reaches the hub, which redirects,
        # answers 424, or refuses a PUT with an HTML page about _xsrf.
        if status in (301, 302, 303, 307, 308, 424, 502, 503) or (
            status == 403 and not _is_json(response)
        ):
            raise LauncherProblem(
                "server-gone", f"The user's server stopped while trying to {what}"
            )
        return response

    def make_directories(self, user: str, server: str, directory: tuple[str, ...]) -> None:
        """Create each level in turn: the contents API does not create parents."""
        for depth in range(1, len(directory) + 1):
            level = directory[:depth]
            response = self._contents(
                "PUT",
                user,
                server,
                level,
                f"create the folder '{'/'.join(level)}'",
                json={"type": "directory"},
            )
            if response.status_code not in (200, 201) and not self._is_directory(
                user, server, level
            ):
                raise LauncherProblem(
                    "upload-failed",
                    f"Could not create the folder '{'/'.join(level)}' "
                    f"(the server answered {response.status_code})",
                )

    def _is_directory(self, user: str, server: str, segments: tuple[str, ...]) -> bool:
        """Whether a folder exists; a concurrent launch may have just created it."""
        response = self._contents(
            "GET", user, server, segments, "look at a folder", params={"content": "0"}
        )
        return response.status_code == 200 and response.json().get("type") == "directory"

    def write_notebook(
        self,
        user: str,
        server: str,
        directory: tuple[str, ...],
        filename: str,
        notebook: dict[str, Any],
        *,
        overwrite: bool = False,
    ) -> str:
        """Write the notebook and return the file name actually used.

        Without `overwrite` the notebook is first written under a unique temporary name and
        then renamed onto the first free name: a rename never replaces an existing file, so
        neither a user's notebook nor a concurrent launch can be overwritten.
        """
        model = {"type": "notebook", "format": "json", "content": notebook}
        if overwrite:
            self._put_notebook(user, server, (*directory, filename), model)
            return filename
        stem = filename[: -len(".ipynb")]
        temporary = f"{stem}.launching-{secrets.token_hex(8)}.ipynb"
        self._put_notebook(user, server, (*directory, temporary), model)
        try:
            for candidate in numbered(filename):
                response = self._contents(
                    "PATCH",
                    user,
                    server,
                    (*directory, temporary),
                    "name the notebook",
                    json={"path": "/".join((*directory, candidate))},
                )
                if response.status_code == 200:
                    return candidate
                if response.status_code != 409:
                    raise LauncherProblem(
                        "upload-failed",
                        f"Could not name the notebook (the server answered "
                        f"{response.status_code})",
                    )
        except BaseException:
            self._discard(user, server, (*directory, temporary))
            raise
        self._discard(user, server, (*directory, temporary))
        raise LauncherProblem(
            "no-free-name",
            f"'{filename}' and its {MAX_FREE_NAME_TRIES - 1} numbered variants all exist in "
            "that folder; choose another filename or directory",
        )

    def _put_notebook(
        self, user: str, server: str, segments: tuple[str, ...], model: dict[str, Any]
    ) -> None:
        response = self._contents("PUT", user, server, segments, "write the notebook", json=model)
        if response.status_code not in (200, 201):
            raise LauncherProblem(
                "upload-failed",
                f"Could not write the notebook (the server answered {response.status_code})",
            )

    def _discard(self, user: str, server: str, segments: tuple[str, ...]) -> None:
        try:
            self._contents("DELETE", user, server, segments, "remove a temporary file")
        except LauncherProblem as problem:
            log.warning("could not remove a temporary notebook: %s", problem.code)
