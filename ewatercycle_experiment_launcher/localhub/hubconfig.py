"""The local hub's config file: the launcher's service and role exactly as an example
config declares them, on free ports, with PAM login and a local-process spawner.

The hub's own administrator service (`HARNESS_SERVICE`, to read files back and stop
servers) is separate from the launcher's, so the launcher's scopes are the ones in use.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from traitlets.config.loader import PyFileConfigLoader

from .checkout import BIN, ROOT
from .processes import free_port

EXAMPLE_CONFIG = ROOT / "jupyterhub_config.py.example"
LAUNCHER_SERVICE = "experiment-launcher"
HARNESS_SERVICE = "test-harness"
HARNESS_SCOPES = ["admin:users", "admin:servers", "access:servers", "tokens"]


def proxy_command() -> str:
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError(
            "configurable-http-proxy is not installed: run `make test` (it runs npm ci)"
        )
    return found


def load_example(example: Path = EXAMPLE_CONFIG) -> Any:
    return PyFileConfigLoader(example.name, path=str(example.parent)).load_config()


def example_services(
    token: str, example: Path = EXAMPLE_CONFIG, hub_url: str = "", launcher_url: str = ""
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The services and roles of an example config, with `token` as the launcher's, and
    the addresses in it moved to free ports of this run (`launcher_url`: where an external
    launcher serves its OAuth callback)."""
    config = load_example(example)
    services = [dict(s) for s in config.JupyterHub.services]
    for service in services:
        if service["name"] == LAUNCHER_SERVICE:
            service["api_token"] = token
            if "url" in service:
                service["url"] = f"http://127.0.0.1:{free_port()}"
            if "oauth_redirect_uri" in service and launcher_url:
                service["oauth_redirect_uri"] = f"{launcher_url}/oauth_callback"
            if "JUPYTERHUB_INTERNAL_URL" in service.get("environment", {}):
                service["environment"] = {
                    **service["environment"],
                    "JUPYTERHUB_INTERNAL_URL": hub_url,
                }
    return services, [dict(r) for r in config.JupyterHub.load_roles]


def add_service(
    services: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    name: str,
    token: str,
    scopes: list[str],
) -> None:
    services.append({"name": name, "api_token": token})
    roles.append({"name": name, "scopes": scopes, "services": [name]})


def config_text(
    *,
    workdir: Path,
    port: int,
    services: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    example: Path = EXAMPLE_CONFIG,
    extra: str = "",
    singleuser: Path = BIN / "jupyterhub-singleuser",
) -> str:
    """A hub on `port` whose database, cookie secret and users' homes are in `workdir`;
    `singleuser` is the release's own server command."""
    trust = bool(load_example(example).JupyterHub.get("trust_user_provided_tokens"))
    lines = [
        "c.JupyterHub.ip = '127.0.0.1'",
        f"c.JupyterHub.port = {port}",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {free_port()}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
        f"c.ConfigurableHTTPProxy.command = [{proxy_command()!r}]",
        f"c.JupyterHub.db_url = 'sqlite:///{workdir}/jupyterhub.sqlite'",
        f"c.JupyterHub.cookie_secret_file = '{workdir}/cookie_secret'",
        "c.JupyterHub.cleanup_servers = True",
        "c.JupyterHub.authenticator_class = 'pam'",
        "c.Authenticator.allow_all = True",
        "c.JupyterHub.spawner_class = 'simple'",
        f"c.SimpleLocalProcessSpawner.home_dir_template = '{workdir / 'home'}/{{username}}'",
        f"c.Spawner.cmd = [{str(singleuser)!r}]",
        "c.Spawner.args = ['--allow-root']",
        "c.Spawner.start_timeout = 120",
        "c.Spawner.http_timeout = 120",
        f"c.JupyterHub.trust_user_provided_tokens = {trust}",
        f"c.JupyterHub.services = {services!r}",  # Python literals: True, not true
        f"c.JupyterHub.load_roles = {roles!r}",
        extra,
    ]
    return "\n".join(lines) + "\n"
