"""The launcher's settings, read once from the environment at start-up.

Every environment variable is declared once, with its default, bounds and meaning: on a
field of `Settings` when it fills one, in `HUB_URLS` or `READ_ELSEWHERE` when not. From
that declaration come `Settings.from_env`, the table in the README (`python -m
ewatercycle_experiment_launcher.config --markdown`) and what `check-config` prints.

Two ways to be configured are supported: the launcher's own variables (`JUPYTERHUB_URL`,
`JUPYTERHUB_TOKEN`, `BASE_PATH`, as since its first release) and the variables JupyterHub
gives a service it starts itself (`JUPYTERHUB_API_TOKEN`, `JUPYTERHUB_API_URL`,
`JUPYTERHUB_SERVICE_PREFIX`, `JUPYTERHUB_SERVICE_URL`). Where both are set, the
launcher's own win. An empty variable counts as unset.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

AUTH_METHODS = ("pam", "token")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line meant for an operator."""


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _flag(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("", "0", "false", "no", "off"):
        return False
    if word in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {word!r}")


def _list(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


PARSERS: dict[Any, Callable[[str, str], Any]] = {
    str: lambda _name, raw: raw,
    float: _float,
    int: _int,
    bool: _flag,
    Path: lambda _name, raw: Path(raw),
    tuple[str, ...]: _list,
}


def _auth_methods(name: str, raw: str) -> tuple[str, ...]:
    methods = _list(name, raw)
    if not methods or set(methods) - set(AUTH_METHODS):
        raise ConfigError(f"{name} must list some of {', '.join(AUTH_METHODS)}, got {raw!r}")
    return methods


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = _list(name, raw)
    for origin in origins:
        if not _absolute(origin) or urlsplit(origin).path not in ("", "/"):
            raise ConfigError(
                f"{name} must list origins such as https://example.org, got {origin!r}"
            )
    return tuple(origin.rstrip("/") for origin in origins)


def _rate(name: str, raw: str) -> str:
    from limits import parse

    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '5/minute', got {raw!r}") from None
    return raw


def _http_url(name: str, raw: str) -> str:
    if not _absolute(raw):
        raise ConfigError(f"{name} must be an http URL, got {raw!r}")
    return raw


def _redis_url(name: str, raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name} must be a redis:// URL, got {raw!r}")
    return raw


def _path_prefix(_name: str, raw: str) -> str:
    return "/" + raw.strip("/")


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"{name} must be a level such as INFO or DEBUG, got {raw!r}")
    return level


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it is read, its default, bounds and meaning.

    `env` lists the names in the order they win: the launcher's own, then the one
    JupyterHub sets for a service it runs. `parse` defaults to the parser of the field's
    type. `shown` is the default as documentation states it, where the value itself
    would mislead (a path of this machine, or "required").
    """

    env: tuple[str, ...]
    default: Any
    meaning: str
    parse: Callable[[str, str], Any] | None = None
    minimum: float | None = None
    secret: bool = False
    shown: str = ""
    required: str = ""

    def source(self, environ: Mapping[str, str]) -> str | None:
        """The variable that gives the value, or None when the default applies."""
        return next((name for name in self.env if environ.get(name)), None)

    def read(self, environ: Mapping[str, str], kind: Any = str) -> Any:
        name = self.source(environ)
        if name is None:
            if self.required:
                raise ConfigError(self.required)
            return self.default
        raw = environ[name]
        value = (self.parse or PARSERS[kind])(name, raw)
        if self.minimum is not None and not value >= self.minimum:
            raise ConfigError(f"{name} must be at least {self.minimum:g}, got {raw!r}")
        return value


def setting(*env: str, default: Any, meaning: str, **options: Any) -> Any:
    """A `Settings` field read from the environment variables `env`."""
    item = Setting(env, default, meaning, **options)
    return field(default=default, repr=not item.secret, metadata={"setting": item})


# Read by `_hub_urls`, which derives `hub_url`, `hub_api_url` and `public_url` from them.
HUB_URLS = (
    Setting(
        ("JUPYTERHUB_URL",),
        "",
        "where JupyterHub's proxy is, e.g. `http://127.0.0.1:8000`; also the base of the "
        "links handed to users. A bare path such as `/jupyter` makes links relative to the "
        "request's `Origin` (frontend and hub behind one reverse proxy); then "
        "`JUPYTERHUB_INTERNAL_URL` is required",
        shown="required¹",
    ),
    Setting(
        ("JUPYTERHUB_INTERNAL_URL",),
        "",
        "where the launcher itself reaches the hub's proxy, when that differs from the URL "
        "users see. The token is never sent to a host taken from a request",
        shown="`JUPYTERHUB_URL`",
    ),
    Setting(
        ("JUPYTERHUB_PUBLIC_HUB_URL",),
        "",
        "public URL of the hub (`https://hub.example.org/hub/`), for links when the hub is "
        "reached internally",
    ),
    Setting(
        ("JUPYTERHUB_API_URL",),
        "",
        "the hub's API, as the hub tells a service it runs¹; used only without `JUPYTERHUB_URL`",
    ),
)

# Read by prometheus_client itself; declared here to be documented and shown.
READ_ELSEWHERE = (
    Setting(
        ("PROMETHEUS_MULTIPROC_DIR",),
        "",
        "under gunicorn, the folder where the workers keep the metrics that `/metrics` adds "
        "up; by default the launcher makes a new one for each start. One given here must be "
        "empty when the service starts",
        shown="`$TMPDIR/ewatercycle-experiment-launcher-$UID/…`",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Where the hub is, how patiently to talk to it, and who may use the launcher.

    `hub_url` is where the launcher reaches the hub's proxy (user servers live under it).
    `public_url` is the base of the links handed to users; a bare path there means "the
    origin of the request", as browsers behind one reverse proxy see it. The hub token is
    left out of `repr` so that it cannot leak through a log line.
    """

    hub_url: str
    hub_token: str = setting(
        "JUPYTERHUB_TOKEN",
        "JUPYTERHUB_API_TOKEN",
        default="",
        meaning="the API token of the launcher's service in the hub configuration",
        secret=True,
        shown="required¹",
        required="JUPYTERHUB_TOKEN is not set: give the API token of the launcher's "
        "service in the hub configuration",
    )
    hub_api_url: str = ""
    public_url: str = ""
    bind_url: str = setting(
        "JUPYTERHUB_SERVICE_URL",
        default="",
        meaning="the URL that `serve` listens on, as the hub tells a service it runs "
        "(`serve --bind` overrides it)",
        parse=_http_url,
    )
    base_path: str = setting(
        "BASE_PATH",
        "JUPYTERHUB_SERVICE_PREFIX",
        default="/",
        meaning="serve the API and Swagger UI under this prefix, e.g. `/launcher`",
        parse=_path_prefix,
    )
    oauth_client_id: str = setting(
        "JUPYTERHUB_CLIENT_ID",
        default="service-experiment-launcher",
        meaning="the launcher's OAuth client at the hub (`service-` and the service's name), "
        "with which browsers log in to launch pages through the hub",
    )
    oauth_callback_url: str = setting(
        "JUPYTERHUB_OAUTH_CALLBACK_URL",
        default="",
        meaning="where the hub sends a browser back after login: the service's "
        "`oauth_redirect_uri`, `{public launcher URL}/oauth_callback`; the default suits a "
        "launcher the hub's proxy serves",
        shown="`{BASE_PATH}oauth_callback`",
    )
    auth_methods: tuple[str, ...] = setting(
        "LAUNCHER_AUTH_METHODS",
        default=AUTH_METHODS,
        meaning="which authentication methods are on",
        parse=_auth_methods,
    )
    pam_service: str = setting(
        "LAUNCHER_PAM_SERVICE",
        default="login",
        meaning="the PAM service that checks passwords (JupyterHub's default too)",
    )
    pam_concurrency: int = setting(
        "LAUNCHER_PAM_CONCURRENCY",
        default=1,
        minimum=1,
        meaning="PAM checks at once per worker (each is ~35 ms of CPU and ~16 MiB); with "
        "one worker per core, one is enough",
    )
    login_cache_seconds: float = setting(
        "LAUNCHER_LOGIN_CACHE_SECONDS",
        default=60.0,
        minimum=0,
        meaning="how long a verified login is remembered (0: never)",
    )
    token_cache_seconds: float = setting(
        "LAUNCHER_TOKEN_CACHE_SECONDS",
        default=60.0,
        minimum=0,
        meaning="how long a verified token is remembered (0: never)",
    )
    failed_login_limit_user: str = setting(
        "LAUNCHER_FAILED_LOGINS_PER_USER",
        default="10/minute",
        meaning="failed logins allowed per user name, in the `limits` syntax",
        parse=_rate,
    )
    failed_login_limit_address: str = setting(
        "LAUNCHER_FAILED_LOGINS_PER_ADDRESS",
        default="30/minute",
        meaning="failed logins allowed per client address, in the `limits` syntax",
        parse=_rate,
    )
    ratelimit_storage: str = setting(
        "LAUNCHER_RATELIMIT_STORAGE",
        default="",
        meaning="where the limits are counted; `redis://host:6379` shares them between replicas",
        shown="`memory://`, or `LAUNCHER_REDIS_URL`",
    )
    redis_url: str = setting(
        "LAUNCHER_REDIS_URL",
        default="",
        meaning="a Redis that replicas share (`redis://redis:6379/0`): launches into one "
        "folder take turns through a lease in it, renewed while the launch runs and "
        "lapsing `LAUNCHER_HUB_TIMEOUT` (at least 5 s) after a replica dies; the "
        "failed-login limits are counted in it too",
        parse=_redis_url,
    )
    cors_origins: tuple[str, ...] = setting(
        "LAUNCHER_CORS_ORIGINS",
        default=(),
        meaning="comma-separated origins (e.g. the eWaterCycle frontend's) that browsers "
        "may call from, with credentials",
        parse=_origins,
    )
    create_users: bool = setting(
        "LAUNCHER_CREATE_USERS",
        default=False,
        meaning="create users the hub does not know yet (needs the `admin:users` scope, "
        "which is close to superuser: leave it off unless needed)",
    )
    spawn_timeout: float = setting(
        "LAUNCHER_SPAWN_TIMEOUT",
        default=300.0,
        minimum=0.1,
        meaning="seconds to wait for a user's server to become ready",
    )
    request_timeout: float = setting(
        "LAUNCHER_HUB_TIMEOUT",
        default=30.0,
        minimum=0.1,
        meaning="seconds to wait for any single answer of the hub",
    )
    leftover_age: float = setting(
        "LAUNCHER_LEFTOVER_AGE",
        default=7200.0,
        minimum=1,
        meaning="seconds after which a temporary notebook (`*.launching-*.ipynb`) that a "
        "killed launcher left is removed by the next launch into its folder; keep it well "
        "past the longest a launch holds one (101 hub answers, ~51 min at 30 s each)",
    )
    threads: int = setting(
        "LAUNCHER_THREADS",
        default=128,
        minimum=1,
        meaning="requests in flight per worker process (each waits on the hub, not the CPU)",
    )
    lock_dir: Path = setting(
        "LAUNCHER_LOCK_DIR",
        default=Path(tempfile.gettempdir()) / "ewatercycle-experiment-launcher",
        meaning="lock files that make launches into one folder take turns (on one host; "
        "with `LAUNCHER_REDIS_URL`, Redis takes their place)",
        shown="`$TMPDIR/ewatercycle-experiment-launcher`",
    )
    log_level: str = setting(
        "LAUNCHER_LOG_LEVEL",
        default="INFO",
        meaning="the launcher's log level",
        parse=_log_level,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        types = get_type_hints(cls)
        values = {name: item.read(env, types[name]) for name, item in _fielded(cls)}
        hub_url, api_url, public_url = _hub_urls(env)
        return cls(hub_url=hub_url, hub_api_url=api_url, public_url=public_url, **values)


def _fielded(cls: type = Settings) -> list[tuple[str, Setting]]:
    return [(f.name, f.metadata["setting"]) for f in fields(cls) if "setting" in f.metadata]


def declared() -> tuple[Setting, ...]:
    """Every environment variable the launcher reads, in the README's order."""
    return (*HUB_URLS, *(s for _, s in _fielded()), *READ_ELSEWHERE)


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


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _documented_default(item: Setting) -> str:
    if item.shown:
        text = item.shown
    elif item.default in ("", ()):
        text = "—"
    else:
        text = f"`{_plain(item.default)}`"
    managed = ", ".join(f"`{name}`" for name in item.env[1:])
    return f"{text} (managed: {managed})" if managed else text


def markdown_table() -> str:
    """The README's table of settings, generated from their declaration."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for item in declared():
        rows.append(f"| `{item.env[0]}` | {_documented_default(item)} | {item.meaning} |")
    return "\n".join(rows)


def in_force(settings: Settings, environ: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(variable, value as shown, where it came from) for every declared variable.

    The origin is "default", or the variable that gave the value when that is a
    hub-managed fallback. Secrets show as "(set)", never their value.
    """
    values = {s.env[0]: getattr(settings, name) for name, s in _fielded(type(settings))}
    rows = []
    for item in declared():
        name = item.env[0]
        source = item.source(environ)
        value = values[name] if name in values else environ.get(source or name, "")
        if item.secret and value:
            shown = "(set)"
        else:
            shown = _plain(value) or "(none)"
        origin = "default" if source is None else ("" if source == name else f"from {source}")
        rows.append((name, shown, origin))
    return rows


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m ewatercycle_experiment_launcher.config --markdown")
    print(markdown_table())
