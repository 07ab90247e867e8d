"""Builds the Connexion application from the OpenAPI spec."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from connexion import FlaskApp
from connexion.exceptions import Unauthorized
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.middleware.cors import CORSMiddleware

from . import browser
from .accesslog import AccessLogMiddleware
from .auth import Authenticator
from .config import Settings
from .handlers import operations
from .launch import Launcher
from .problems import TYPE_PREFIX, LauncherProblem
from .state import AppState, StateMiddleware
from .threads import middlewares

SPEC = Path(__file__).with_name("openapi.yaml")
REALM = "eWaterCycle experiment launcher"


def _unauthorized(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """401 with the challenge that makes browsers and curl offer Basic authentication."""
    detail = getattr(exc, "detail", None) or "Authentication is required"
    body = {
        "type": TYPE_PREFIX + "unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
        "code": "unauthorized",
    }
    return ConnexionResponse(
        status_code=401,
        mimetype="application/problem+json",
        content_type="application/problem+json",
        body=json.dumps(body),
        headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
    )


def _undecodable(_request: ConnexionRequest, _exc: Exception) -> ConnexionResponse:
    problem = LauncherProblem("invalid-body", "The request body is not UTF-8 text")
    return problem.to_problem()


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ewatercycle_experiment_launcher").setLevel(level)


def create_app(settings: Settings, launcher: Launcher | None = None) -> FlaskApp:
    """A new application with state of its own: its launcher, login caches and limits."""
    _configure_logging(settings.log_level)
    launcher = launcher or Launcher(settings)
    state = AppState(settings, launcher, Authenticator(settings, launcher.hub))
    app = FlaskApp(
        __name__,
        middlewares=middlewares(settings.threads),
        resolver=operations.resolve,
    )
    app.add_api(
        SPEC,
        base_path=settings.base_path.rstrip("/") or None,
        strict_validation=True,
        validate_responses=False,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_config={"persistAuthorization": True, "tryItOutEnabled": True}
        ),
    )
    app.add_error_handler(Unauthorized, _unauthorized)
    app.add_error_handler(UnicodeDecodeError, _undecodable)
    app.add_middleware(StateMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, state=state)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["Retry-After"],
        )
    app.add_middleware(AccessLogMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    browser.mount(app, state)
    return app
