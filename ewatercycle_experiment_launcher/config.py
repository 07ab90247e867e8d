"""The launcher's settings, read once from the environment at start-up."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line meant for an operator."""


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Where the hub is and how patiently to talk to it.

    `hub_url` is where the launcher reaches the hub's proxy (user servers live under it).
    `public_url` is the base of the links handed to users; a bare path there means "the
    origin of the request", as browsers behind one reverse proxy see it. The hub token is
    excluded from `repr` so that it cannot leak through a log line.
    """

    hub_url: str
    hub_token: str = ""
    hub_api_url: str = ""
    public_url: str = ""
    base_path: str = "/"
    spawn_timeout: float = 300.0
    request_timeout: float = 30.0
    create_users: bool = False
    lock_dir: Path = Path(tempfile.gettempdir()) / "ewatercycle-experiment-launcher"

    def __repr__(self) -> str:
        return (
            f"Settings(hub_url={self.hub_url!r}, hub_api_url={self.hub_api_url!r}, "
            f"public_url={self.public_url!r}, base_path={self.base_path!r}, "
            f"spawn_timeout={self.spawn_timeout}, request_timeout={self.request_timeout}, "
            f"create_users={self.create_users})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw_hub_url = env.get("JUPYTERHUB_URL", "")
        if not raw_hub_url:
            raise ConfigError(
                "JUPYTERHUB_URL is not set: give the hub's URL, e.g. http://127.0.0.1:8000"
            )
        hub_url = raw_hub_url.rstrip("/")
        token = env.get("JUPYTERHUB_TOKEN", "")
        if not token:
            raise ConfigError(
                "JUPYTERHUB_TOKEN is not set: give the API token of the launcher's "
                "service in the hub configuration"
            )
        public_url = env.get("JUPYTERHUB_PUBLIC_URL", "").rstrip("/")
        internal_url = env.get("JUPYTERHUB_INTERNAL_URL", "").rstrip("/")
        if _absolute(hub_url):
            public_url = public_url or hub_url
            proxy_url = internal_url or hub_url
        elif hub_url == "" or hub_url.startswith("/"):
            public_url = public_url or hub_url
            if not internal_url:
                raise ConfigError(
                    f"JUPYTERHUB_URL is the path {hub_url or '/'!r}: set "
                    "JUPYTERHUB_INTERNAL_URL to the absolute URL at which the launcher "
                    "reaches the hub (the token is never sent to a host named by a request)"
                )
            proxy_url = internal_url
        else:
            raise ConfigError(
                f"JUPYTERHUB_URL must be an http(s) URL or a path starting with '/', "
                f"got {hub_url!r}"
            )
        if not _absolute(proxy_url):
            raise ConfigError(f"JUPYTERHUB_INTERNAL_URL must be an http(s) URL, got {proxy_url!r}")
        if public_url and not (_absolute(public_url) or public_url.startswith("/")):
            raise ConfigError(
                f"JUPYTERHUB_PUBLIC_URL must be an http(s) URL or a path, got {public_url!r}"
            )
        api_url = env.get("JUPYTERHUB_API_URL", "").rstrip("/") or f"{proxy_url}/hub/api"
        if not _absolute(api_url):
            raise ConfigError(f"JUPYTERHUB_API_URL must be an http(s) URL, got {api_url!r}")
        base_path = "/" + env.get("BASE_PATH", "/").strip("/")
        return cls(
            hub_url=proxy_url,
            hub_token=token,
            hub_api_url=api_url,
            public_url=public_url,
            base_path=base_path,
            spawn_timeout=_float(env, "LAUNCHER_SPAWN_TIMEOUT", 300.0),
            request_timeout=_float(env, "LAUNCHER_HUB_TIMEOUT", 30.0),
            create_users=_flag(env, "LAUNCHER_CREATE_USERS"),
            lock_dir=Path(env.get("LAUNCHER_LOCK_DIR") or cls.lock_dir),
        )
