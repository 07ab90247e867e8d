"""What the pages share: the blueprint, the session cookie, the hub login, problem pages.

The session cookie is Flask's signed cookie, HttpOnly, SameSite=Lax, limited to the
service's path and `Secure` where browsers reach the launcher over https. Its key is
derived from the launcher's hub token, which every worker and replica already shares,
so a login made on one is good on all, and a new token ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from connexion import FlaskApp
from connexion.exceptions import ProblemException
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from ..problems import problem_document
from ..state import AppState
from .oauth import HubLogin, callback_url, public_is_https

EXTENSION = "ewatercycle_experiment_launcher.browser"
SESSION_COOKIE = "experiment-launcher-session"
KEY_LABEL = b"ewatercycle-experiment-launcher browser session"
# Pages load only what the launcher serves, and no other site may frame them (a framed
# Launch button could be clicked by a page that hides it).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

blueprint = Blueprint(
    "browser",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/launch/static",
)


@dataclass(frozen=True)
class Site:
    state: AppState
    login: HubLogin
    base: str  # the service's base path, ending in "/"


def site() -> Site:
    return current_app.extensions[EXTENSION]


def mount(app: FlaskApp, state: AppState) -> None:
    """Serve the pages on `app`'s Flask application, under the service's base path."""
    from . import maker, pages  # noqa: F401  (their routes join the blueprint)

    settings = state.settings
    base = settings.base_path.rstrip("/") + "/"
    flask_app = app.app
    flask_app.secret_key = hmac.new(
        settings.hub_token.encode(), KEY_LABEL, hashlib.sha256
    ).digest()
    flask_app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH=base,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=public_is_https(settings),
        WTF_CSRF_TIME_LIMIT=None,  # as long as the session: a page may stay open a while
    )
    flask_app.extensions[EXTENSION] = Site(state, HubLogin(settings), base)
    flask_app.register_blueprint(blueprint, url_prefix=base.rstrip("/"))


@blueprint.after_request
def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def launcher_url() -> str:
    """The launcher's public base URL, for the links it makes: the origin of its callback
    URL when that is absolute, else the origin the browser used (through the hub's proxy)."""
    callback = urlsplit(callback_url(site().state.settings))
    origin = (
        f"{callback.scheme}://{callback.netloc}"
        if callback.netloc
        else request.host_url.rstrip("/")
    )
    return origin + site().base


def plain_problem(status: int, title: str, detail: str) -> ProblemException:
    """A problem of no catalogued code, typed as HTTP's own (`about:blank`)."""
    return ProblemException(status=status, title=title, detail=detail, type="about:blank")


def problem_page(problem: ProblemException) -> tuple[str, int]:
    return render_template("problem.html", problem=problem, base=site().base), problem.status


def problem_json(problem: ProblemException) -> Response:
    response = jsonify(problem_document(problem))
    response.status_code = problem.status
    response.mimetype = "application/problem+json"
    return response
