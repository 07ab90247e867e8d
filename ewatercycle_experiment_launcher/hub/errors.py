"""Which problem each answer of the hub means, in one table.

A surface check (`check`) applies to every answer of an API surface and lets through
what it has no row for; a step's refusal (`refusal`) names the problem for an answer the
step could not use. Rows are keyed by (situation, status), where the status may also be
one of the classes below; the most specific key wins.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import requests

from ..problems import LauncherProblem

# Status classes, tried after the exact status.
HTML_PAGE = "403 page"  # the hub's own HTML page, not a JSON answer of the server behind it
SERVER_ERROR = "5xx"
OTHER = "any other"

# Surfaces: every answer of these is checked.
SCOPED_API = "hub API, a scope of the launcher's token"
UNSCOPED_API = "hub API, any token"
CONTENTS = "contents API through the proxy"

# Steps: an answer the step could not use.
START = "start a server"
CREATE_USER = "create a user"
READ_USER = "read a user"
IDENTIFY = "check a token"
FOLDER = "create a folder"
WRITE = "write a notebook"
RENAME = "name a notebook"


class Row(NamedTuple):
    code: str
    detail: str  # str.format: status, message (": ..." or ""), and the caller's fields
    ext: tuple[str, ...] = ()  # caller's fields the problem carries
    headers: tuple[str, ...] = ()  # the hub's headers the problem passes on


_PERMISSION = Row(
    "hub-permission",
    "JupyterHub refused to let the launcher {what}: its token needs the '{scope}' scope "
    "(see jupyterhub_config.py.example)",
    ext=("scope",),
)
# `needs` names the start scope as the hub's version wants it (see scopes.start_needs).
_START_PERMISSION = Row(
    "hub-permission",
    "JupyterHub refused to let the launcher {what}: its token needs {needs} "
    "(see jupyterhub_config.py.example)",
    ext=("scope",),
)
_ANSWERED = Row("hub-error", "JupyterHub answered {status} while trying to {what}{message}")
SPAWN_FAILED = "JupyterHub could not start the server: {reason}"
# Without a server behind the route, the request reaches the hub, which redirects,
# answers 424, or refuses a PUT with an HTML page about _xsrf.
_GONE = Row("server-gone", "The user's server stopped while trying to {what}")

PROBLEMS: dict[tuple[str, int | str], Row] = {
    (SCOPED_API, 403): _PERMISSION,
    (SCOPED_API, SERVER_ERROR): _ANSWERED,
    (UNSCOPED_API, SERVER_ERROR): _ANSWERED,
    (CONTENTS, HTML_PAGE): _GONE,
    (CONTENTS, 403): _PERMISSION,
    **{(CONTENTS, status): _GONE for status in (301, 302, 303, 307, 308, 424, 502, 503)},
    (START, 403): _START_PERMISSION,
    (START, 400): Row("server-refused", "JupyterHub refused to start the server{message}"),
    (START, 404): Row(
        "user-not-on-hub",
        "User {user!r} is not known to JupyterHub yet: log in to JupyterHub once, "
        "then launch again",
    ),
    (START, 429): Row(
        "spawn-limit",
        "JupyterHub is starting too many servers at once; try again later",
        headers=("Retry-After",),
    ),
    (START, 500): Row("spawn-failed", SPAWN_FAILED),  # the reason is in the progress stream
    (START, OTHER): Row(
        "hub-error", "JupyterHub answered {status} to starting the server{message}"
    ),
    (CREATE_USER, OTHER): Row("hub-error", "JupyterHub answered {status} to creating the user"),
    (READ_USER, OTHER): Row("hub-error", "JupyterHub answered {status} to reading the user"),
    (IDENTIFY, OTHER): Row("hub-error", "JupyterHub answered {status} to checking a token"),
    (FOLDER, OTHER): Row(
        "upload-failed", "Could not create the folder '{folder}' (the server answered {status})"
    ),
    (WRITE, OTHER): Row(
        "upload-failed", "Could not write the notebook (the server answered {status})"
    ),
    (RENAME, OTHER): Row(
        "upload-failed", "Could not name the notebook (the server answered {status})"
    ),
}


def is_json(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/json")


def hub_message(response: requests.Response) -> str:
    """The hub's own short explanation, without echoing a whole upstream body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:300] if message else ""


def _row(situation: str, response: requests.Response) -> Row | None:
    status = response.status_code
    keys: list[int | str] = [HTML_PAGE] if status == 403 and not is_json(response) else []
    keys += [status, SERVER_ERROR] if status >= 500 else [status]
    for key in (*keys, OTHER):
        row = PROBLEMS.get((situation, key))
        if row is not None:
            return row
    return None


def _problem(row: Row, response: requests.Response, fields: dict[str, Any]) -> LauncherProblem:
    message = hub_message(response)
    detail = row.detail.format(
        status=response.status_code, message=f": {message}" if message else "", **fields
    )
    headers = {name: response.headers[name] for name in row.headers if response.headers.get(name)}
    ext = {name: fields[name] for name in row.ext}
    return LauncherProblem(row.code, detail, headers=headers, **ext)


def check(surface: str, response: requests.Response, **fields: Any) -> requests.Response:
    """The answer itself, unless the table says it is a problem on this surface."""
    row = _row(surface, response)
    if row is not None:
        raise _problem(row, response, fields)
    return response


def _step_row(step: str, response: requests.Response) -> Row:
    return _row(step, response) or PROBLEMS[(step, OTHER)]


def code_for(step: str, response: requests.Response) -> str:
    return _step_row(step, response).code


def refusal(step: str, response: requests.Response, **fields: Any) -> LauncherProblem:
    """The problem an answer that `step` could not use stands for."""
    return _problem(_step_row(step, response), response, fields)
