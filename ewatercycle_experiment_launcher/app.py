"""Builds the Connexion application from the OpenAPI spec."""

from __future__ import annotations

import json
from pathlib import Path

from connexion import FlaskApp
from connexion.exceptions import Unauthorized
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.options import SwaggerUIOptions

from .config import Settings
from .launch import Launcher
from .problems import TYPE_PREFIX

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


def create_app(settings: Settings, launcher: Launcher | None = None) -> FlaskApp:
    app = FlaskApp(__name__)
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
    app.app.extensions["launcher"] = launcher or Launcher(settings)
    return app
