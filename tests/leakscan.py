"""Finds secrets (hub tokens, test passwords) in files the tests leave behind: the hub's
and the launchers' logs above all, in any of the forms a secret takes on the way.

`scan(paths, secrets)` answers "file:line" for every line that contains a secret as it
is, URL-quoted, JSON- or repr-escaped, or inside base64 at any alignment (as in an
`Authorization: Basic ...` header, whatever the user name before the colon). The secret
itself is never printed.

The pytest side: `install()` registers every `Hub`, `LauncherServer` and `OSUser` the tests
create (it wraps their constructors), and `pytest_sessionfinish` scans their logs (and the
rest of the session's temporary files, less those that must hold a secret) at the end of
the run, failing the run when anything turns up.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

# Files that hold secrets by design: the hub's configuration carries the service tokens,
# its database keeps (hashed) tokens and its cookie secret is one.
EXPECTED_SECRET_FILES = {"jupyterhub_config.py", "jupyterhub.sqlite", "cookie_secret"}
MIN_BASE64_BYTES = 6  # shorter secrets give base64 fragments that match by chance
MAX_FILE_BYTES = 64 * 1024 * 1024


def _base64_fragments(secret: bytes) -> set[str]:
    """Substrings found in the base64 of anything that contains `secret`, at each of the
    three alignments, in the standard and the URL-safe alphabet."""
    fragments: set[str] = set()
    if len(secret) < MIN_BASE64_BYTES:
        return fragments
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        # The first group mixes in the padding bytes, the last one what follows.
        start = 4 if offset else 0
        end = len(encoded) - (4 if (offset + len(secret)) % 3 else 0)
        middle = encoded[start:end]
        if len(middle) >= 8:
            fragments.add(middle)
            fragments.add(middle.replace("+", "-").replace("/", "_"))
    return fragments


def forms(secret: str) -> dict[str, str]:
    """Every form of `secret` to look for, each with a label that does not reveal it."""
    raw = secret.encode("utf-8")
    candidates = [
        (secret, "as is"),
        (quote(secret, safe=""), "URL-quoted"),
        (quote_plus(secret), "form-encoded"),
        (json.dumps(secret)[1:-1], "JSON-escaped"),
        (json.dumps(secret, ensure_ascii=False)[1:-1], "JSON-escaped"),
        (repr(secret)[1:-1], "repr"),
        (ascii(secret)[1:-1], "ascii-escaped"),
        (raw.hex(), "hex"),
    ]
    candidates += [(fragment, "base64") for fragment in sorted(_base64_fragments(raw))]
    found: dict[str, str] = {}
    for form, label in candidates:
        if form:
            found.setdefault(form, label)
    return found


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return
        data = path.read_bytes()
    except OSError:
        return
    text = data.decode("utf-8", errors="replace")
    yield from enumerate(text.splitlines(), start=1)


def scan_detailed(paths: Iterable[Path], secrets: Iterable[str]) -> list[tuple[str, int, str]]:
    """(file, line, what) for every line holding a secret; `what` names the secret by its
    position in `secrets` and the form it was found in, never by its value."""
    needles: dict[str, str] = {}
    for index, secret in enumerate(s for s in secrets if s):
        for form, label in forms(secret).items():
            needles.setdefault(form, f"secret #{index} ({label})")
    found = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        for number, line in _lines(path):
            for needle, label in needles.items():
                if needle in line:
                    found.append((str(path), number, label))
                    break
    return found


def scan(paths: list[Path], secrets: list[str]) -> list[str]:
    """ "file:line" for every line of `paths` in which any of `secrets` appears."""
    return [f"{path}:{line}" for path, line, _ in scan_detailed(paths, secrets)]


# -- the pytest plugin ----------------------------------------------------------------------

_hubs: list = []
_launchers: list = []
_users: list = []
_extra_secrets: list[str] = []
_extra_logs: list[Path] = []


def register_secret(secret: str) -> None:
    """A secret that no Hub, LauncherServer or OSUser knows of (e.g. a user's own token)."""
    _extra_secrets.append(secret)


def register_log(path: Path) -> None:
    _extra_logs.append(Path(path))


def _wrap_init(cls, registry: list) -> None:
    if getattr(cls.__init__, "_leakscan", False):
        return
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        registry.append(self)

    __init__._leakscan = True  # type: ignore[attr-defined]
    cls.__init__ = __init__


def install() -> None:
    """Register every Hub, LauncherServer and OSUser created from now on."""
    from ewatercycle_experiment_launcher import localhub as harness

    _wrap_init(harness.Hub, _hubs)
    _wrap_init(harness.LauncherServer, _launchers)
    _wrap_init(harness.OSUser, _users)


def registered_secrets() -> list[str]:
    """Read at the end: tests may change a user's password after creating them."""
    secrets: list[str] = []
    for hub in _hubs:
        secrets += [hub.token, hub.harness_token]
        secrets += list((getattr(hub, "service_tokens", None) or {}).values())
    for launcher in _launchers:
        for name in ("JUPYTERHUB_TOKEN", "JUPYTERHUB_API_TOKEN"):
            if launcher.env.get(name):
                secrets.append(launcher.env[name])
    for user in _users:
        secrets.append(user.password)
    secrets += _extra_secrets
    return list(dict.fromkeys(s for s in secrets if s))


def registered_logs() -> list[Path]:
    logs = [hub.workdir / "jupyterhub.log" for hub in _hubs]
    logs += [launcher.logfile for launcher in _launchers if getattr(launcher, "logfile", None)]
    return list(dict.fromkeys(logs + _extra_logs))


def temporary_files(root: Path) -> list[Path]:
    """Every file under the session's temporary folder that should hold no secret."""
    files = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name in EXPECTED_SECRET_FILES or name.startswith("jupyterhub.sqlite"):
                continue
            files.append(Path(dirpath, name))
    return files


def leaks(session=None) -> list[str]:
    """What the registered secrets leaked into: the logs, and the session's other files."""
    return _leaks(session)[0]


def _leaks(session=None) -> tuple[list[str], int, int]:
    paths = registered_logs()
    if session is not None:
        factory = getattr(session.config, "_tmp_path_factory", None)
        if factory is not None:
            try:
                paths += temporary_files(factory.getbasetemp())
            except OSError:
                pass
    paths = list(dict.fromkeys(Path(p) for p in paths))
    secrets = registered_secrets()
    found = [f"{path}:{line}: {what}" for path, line, what in scan_detailed(paths, secrets)]
    return found, len(secrets), len(paths)


def pytest_configure(config) -> None:
    """When loaded as a plugin (`-p tests.leakscan`), register from the start."""
    install()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Fail the run when a secret was written to a log or left in a file."""
    found, secrets, files = _leaks(session)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not found:
        if reporter is not None and secrets:
            reporter.write("\n")
            reporter.write_line(f"leakscan: {secrets} secrets, {files} files, no leak")
        return
    lines = ["secrets leaked into files:"] + [f"  {place}" for place in found]
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines))
    session.exitstatus = 1
