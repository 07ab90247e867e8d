"""The launcher's settings, read once from the environment at start-up.

Two ways to be configured are supported: the launcher's own variables (`JUPYTERHUB_URL`,
`JUPYTERHUB_TOKEN`, `BASE_PATH`, as since its first release) and the variables JupyterHub
gives a service it starts itself (`JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`,
`JUPYTERHUB_SERVICE_PREFIX`, `JUPYTERHUB_SERVICE_URL`). Where both are set, the
launcher's own win.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AUTH_METHODS = ("pam", "token")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line meant for an operator."""


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _float(environ: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _list(environ: Mapping[str, str], name: str, default: str = "") -> tuple[str, ...]:
    raw = environ.get(name, default)
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _rate(environ: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse

    raw = environ.get(name, "") or default
    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '5/minute', got {raw!r}") from None
    return raw


@dataclass(frozen=True)
class Settings:
    """Where the hub is, how patiently to talk to it, and who may use the launcher.

    `hub_url` is where the launcher reaches the hub's proxy (user servers live under it).
    `public_url` is the base of the links handed to users; a bare path there means "the
    origin of the request", as browsers behind one reverse proxy see it. The hub token is
    left out of `repr` so that it cannot leak through a log line.
    """

    hub_url: str
    hub_token: str = field(default="", repr=False)
    hub_api_url: str = ""
    public_url: str = ""
    base_path: str = "/"
    spawn_timeout: float = 300.0
    request_timeout: float = 30.0
    create_users: bool = False
    lock_dir: Path = Path(tempfile.gettempdir()) / "ewatercycle-experiment-launcher"
    auth_methods: tuple[str, ...] = AUTH_METHODS
    pam_service: str = "login"
    pam_concurrency: int = 1
    login_cache_seconds: float = 60.0
    token_cache_seconds: float = 60.0
    failed_login_limit_user: str = "10/minute"
    failed_login_limit_address: str = "30/minute"
    ratelimit_storage: str = "memory://"
    cors_origins: tuple[str, ...] = ()
    threads: int = 128
    bind_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        token = env.get("JUPYTERHUB_TOKEN") or env.get("JUPYTERHUB_API_TOKEN", "")
        if not token:
            raise ConfigError(
                "JUPYTERHUB_TOKEN is not set: give the API token of the launcher's "
                "service in the hub configuration"
            )
        hub_url, api_url, public_url = _hub_urls(env)
        base_path = env.get("BASE_PATH") or env.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
        methods = _list(env, "LAUNCHER_AUTH_METHODS", ",".join(AUTH_METHODS))
        unknown = sorted(set(methods) - set(AUTH_METHODS))
        if unknown or not methods:
            raise ConfigError(
                f"LAUNCHER_AUTH_METHODS must list some of {', '.join(AUTH_METHODS)}, "
                f"got {env.get('LAUNCHER_AUTH_METHODS')!r}"
            )
        origins = _list(env, "LAUNCHER_CORS_ORIGINS")
        for origin in origins:
            if not _absolute(origin) or urlsplit(origin).path not in ("", "/"):
                raise ConfigError(
                    f"LAUNCHER_CORS_ORIGINS must list origins such as https://example.org, "
                    f"got {origin!r}"
                )
        bind_url = env.get("JUPYTERHUB_SERVICE_URL", "")
        if bind_url and not _absolute(bind_url):
            raise ConfigError(f"JUPYTERHUB_SERVICE_URL must be an http URL, got {bind_url!r}")
        return cls(
            hub_url=hub_url,
            hub_token=token,
            hub_api_url=api_url,
            public_url=public_url,
            base_path="/" + base_path.strip("/"),
            spawn_timeout=_float(env, "LAUNCHER_SPAWN_TIMEOUT", 300.0, minimum=0.1),
            request_timeout=_float(env, "LAUNCHER_HUB_TIMEOUT", 30.0, minimum=0.1),
            create_users=_flag(env, "LAUNCHER_CREATE_USERS"),
            lock_dir=Path(env.get("LAUNCHER_LOCK_DIR") or cls.lock_dir),
            auth_methods=methods,
            pam_service=env.get("LAUNCHER_PAM_SERVICE") or "login",
            pam_concurrency=int(_float(env, "LAUNCHER_PAM_CONCURRENCY", 1, minimum=1)),
            login_cache_seconds=_float(env, "LAUNCHER_LOGIN_CACHE_SECONDS", 60.0),
            token_cache_seconds=_float(env, "LAUNCHER_TOKEN_CACHE_SECONDS", 60.0),
            failed_login_limit_user=_rate(env, "LAUNCHER_FAILED_LOGINS_PER_USER", "10/minute"),
            failed_login_limit_address=_rate(
                env, "LAUNCHER_FAILED_LOGINS_PER_ADDRESS", "30/minute"
            ),
            ratelimit_storage=env.get("LAUNCHER_RATELIMIT_STORAGE") or "memory://",
            cors_origins=tuple(o.rstrip("/") for o in origins),
            threads=int(_float(env, "LAUNCHER_THREADS", 128, minimum=1)),
            bind_url=bind_url,
        )


def _hub_urls(env: Mapping[str, str]) -> tuple[str, str, str]:
    """(proxy URL the launcher calls, hub API URL, base of the links for users)."""
    raw_hub_url = env.get("JUPYTERHUB_URL", "")
    internal_url = env.get("JUPYTERHUB_INTERNAL_URL", "").rstrip("/")
    public_hub_url = env.get("JUPYTERHUB_PUBLIC_HUB_URL", "").rstrip("/")
    if public_hub_url.endswith("/hub"):
        public_hub_url = public_hub_url[: -len("/hub")]
    if raw_hub_url:
        hub_url = raw_hub_url.rstrip("/")
        if not (_absolute(hub_url) or raw_hub_url.startswith("/")):
            raise ConfigError(
                f"JUPYTERHUB_URL must be an http(s) URL or a path starting with '/', "
                f"got {raw_hub_url!r}"
            )
        public_url = public_hub_url or hub_url
        proxy_url = internal_url or (hub_url if _absolute(hub_url) else "")
        if not proxy_url:
            raise ConfigError(
                f"JUPYTERHUB_URL is the path {raw_hub_url!r}: set JUPYTERHUB_INTERNAL_URL "
                "to the absolute URL at which the launcher reaches the hub (the token is "
                "never sent to a host named by a request)"
            )
        api_url = f"{proxy_url}/hub/api"
    elif env.get("JUPYTERHUB_API_URL"):
        api_url = env["JUPYTERHUB_API_URL"].rstrip("/")
        if not internal_url:
            raise ConfigError(
                "JUPYTERHUB_URL is not set: give the URL at which the launcher reaches the "
                "hub's proxy, as JUPYTERHUB_URL or JUPYTERHUB_INTERNAL_URL"
            )
        proxy_url = internal_url
        public_url = public_hub_url or internal_url
    else:
        raise ConfigError(
            "JUPYTERHUB_URL is not set: give the hub's URL, e.g. http://127.0.0.1:8000"
        )
    for name, url in (("JUPYTERHUB_INTERNAL_URL", proxy_url), ("JUPYTERHUB_API_URL", api_url)):
        if not _absolute(url):
            raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
    return proxy_url, api_url, public_url
