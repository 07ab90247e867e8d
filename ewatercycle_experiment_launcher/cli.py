"""`ewatercycle-experiment-launcher serve | render | check-config`."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import ConfigError, Settings, in_force
from .notebooks import KINDS

PROG = "ewatercycle-experiment-launcher"
SERVICE_NAME = "experiment-launcher"
WORKER_CLASS = "ewatercycle_experiment_launcher.gunicornworker.UvicornWorker"
# Idle connections stay open longer than a load balancer's (60 s is common), so it never
# sends a request on a connection the launcher is closing at that very moment.
KEEP_ALIVE_SECONDS = 75
NEEDED_SCOPES = {
    "start:servers": "start users' servers",
    "read:servers": "follow a server's start",
    "access:servers": "write notebooks through the contents API",
}
# Older names that grant the same (and more).
SCOPE_ALIASES = {"start:servers": {"servers"}, "read:servers": {"servers"}}


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> int:
    """Run the production server; as a hub-managed service, on the URL the hub gave.

    On SIGTERM it stops accepting and gives the launches in flight the grace period to
    finish: a whole spawn timeout, then two hub timeouts for the writes (360 s by
    default). A launch cut off later leaves no file under the name chosen for it. SIGINT
    (how JupyterHub stops a service it runs) stops it alike; an idle one stops at once.
    """
    settings = _settings()
    grace = math.ceil(settings.spawn_timeout + 2 * settings.request_timeout)
    bind = args.bind
    if not bind:
        if settings.bind_url:
            parts = urlsplit(settings.bind_url)
            bind = f"{parts.hostname}:{parts.port or 80}"
        else:
            bind = "127.0.0.1:8888"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        WORKER_CLASS,
        "--workers",
        str(args.workers),
        "--bind",
        bind,
        "--graceful-timeout",
        str(grace),
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--no-control-socket",  # its default path is shared by every gunicorn of the user
        "ewatercycle_experiment_launcher.serve:app",
    ]
    # glibc's many malloc arenas triple a worker's memory under 100s of threads.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    os.execv(sys.executable, command)
    return 0  # not reached


def _request_schemas() -> dict[str, Any]:
    import yaml

    from .app import SPEC

    return yaml.safe_load(SPEC.read_text())


def render(args: argparse.Namespace) -> int:
    """Write the notebook a request would launch, without any hub."""
    import jsonschema
    import nbformat

    from . import notebooks

    raw = sys.stdin.read() if args.body == "-" else Path(args.body).read_text()
    try:
        body = json.loads(raw)
    except ValueError as error:
        print(f"{PROG}: the request body is not JSON: {error}", file=sys.stderr)
        return 2
    spec = _request_schemas()
    operation = spec["paths"][f"/{args.kind}"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    try:
        jsonschema.validate(body, {**schema, "components": spec["components"]})
        notebook = notebooks.build(args.kind, body)
    except (jsonschema.ValidationError, ValueError) as error:
        message = getattr(error, "message", str(error))
        print(f"{PROG}: invalid {args.kind} request: {message}", file=sys.stderr)
        return 2
    text = nbformat.writes(notebook)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _hub_service(path: Path, token: str) -> tuple[dict[str, Any] | None, list[str]]:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    services = list(config.JupyterHub.get("services", []))
    roles = list(config.JupyterHub.get("load_roles", []))
    service = next(
        (s for s in services if token and s.get("api_token") == token),
        next((s for s in services if s.get("name") == SERVICE_NAME), None),
    )
    if service is None:
        return None, []
    scopes: list[str] = []
    for role in roles:
        if service["name"] in role.get("services", []):
            scopes.extend(role.get("scopes", []))
    return dict(service), scopes


def _print_settings(settings: Settings) -> None:
    """Every declared variable with its value and origin, then the hub URLs derived."""
    for name, value, origin in in_force(settings, os.environ):
        print(f"{name:<35} {value}" + (f"  ({origin})" if origin else ""))
    print(f"hub (proxy) URL:    {settings.hub_url}")
    print(f"hub API URL:        {settings.hub_api_url}")
    print(f"links to users:     {settings.public_url or '(the request Origin)'}")


def _scope_problems(scopes: list[str], version: str | None) -> list[str]:
    """What the service's scopes lack for a hub of `version` (for any release when None),
    and the ones that hub does not know: a 5.x hub refuses to start with `start:servers`."""
    from .hub import scopes as hub_scopes

    problems = [
        f"the service has '{scope}', which JupyterHub {version} does not know (it came with "
        f"JupyterHub {hub_scopes.ADDED_IN[scope]}.0): that hub refuses to start; grant "
        f"'{hub_scopes.START_BEFORE_6}' instead"
        for scope in hub_scopes.unknown_to(version, scopes)
    ]
    start = hub_scopes.start_scope(version) or hub_scopes.START
    needed = {start: NEEDED_SCOPES[hub_scopes.START], **NEEDED_SCOPES}
    if start != hub_scopes.START:
        del needed[hub_scopes.START]
    for scope, purpose in needed.items():
        if scope not in scopes and not SCOPE_ALIASES.get(scope, set()) & set(scopes):
            problems.append(f"the service lacks '{scope}' (to {purpose})")
    return problems


def _service_problems(path: str, settings: Settings, version: str | None) -> list[str]:
    """What is wrong with the launcher's service and role in the hub's config file."""
    service, scopes = _hub_service(Path(path), settings.hub_token)
    if service is None:
        return [f"{path} registers no service '{SERVICE_NAME}'"]
    print(f"hub service:        {service['name']} (from {path})")
    print(f"its scopes:         {', '.join(scopes) or '(none)'}")
    problems = []
    if service.get("admin"):
        problems.append(
            "the service has 'admin': True (deprecated, every scope of the hub); "
            "grant the scopes of load_roles instead"
        )
    problems += _scope_problems(scopes, version)
    if settings.create_users and "admin:users" not in scopes:
        problems.append("LAUNCHER_CREATE_USERS is on but the service lacks 'admin:users'")
    token = service.get("api_token", "")
    if token.startswith("<"):
        problems.append(
            "the service's api_token in the hub config is still a placeholder: "
            "put the output of `openssl rand -hex 32` there and in JUPYTERHUB_TOKEN"
        )
    elif token and token != settings.hub_token:
        problems.append("JUPYTERHUB_TOKEN differs from the service's api_token in the hub config")
    return problems


def check_config(args: argparse.Namespace) -> int:
    """Print the settings in force and what is wrong with them or with the hub's config.
    Online, the hub's version decides which scope names are right for it."""
    problems: list[str] = []
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"error: {error}")
        return 1
    _print_settings(settings)
    version = None
    if not args.offline:
        from .hub import HubClient

        client = HubClient(settings)
        version = client.version()
        print(f"hub version:        {version or 'unknown (the hub did not say)'}")
        report = client.health()
        print(f"hub:                {report['hub']}, token {report['token']}")
        if report["status"] != "ok":
            problems.append(f"the hub check failed: hub {report['hub']}, token {report['token']}")
    if args.hub_config:
        problems += _service_problems(args.hub_config, settings, version)
    for problem in problems:
        print(f"error: {problem}")
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the web service (gunicorn + uvicorn worker)")
    p.add_argument("--bind", help="HOST:PORT (default: JUPYTERHUB_SERVICE_URL or :8888)")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(run=serve)

    p = commands.add_parser("render", help="write the notebook a request would launch")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("body", help="JSON request body file, or - for standard input")
    p.add_argument("-o", "--output", default="-", help="notebook file (default: stdout)")
    p.set_defaults(run=render)

    p = commands.add_parser("check-config", help="check the settings and the hub's config")
    p.add_argument("--hub-config", help="the hub's jupyterhub_config.py to check against")
    p.add_argument("--offline", action="store_true", help="do not contact the hub")
    p.set_defaults(run=check_config)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
