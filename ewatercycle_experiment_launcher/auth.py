"""HTTP Basic authentication checked against the host's accounts with PAM."""

from __future__ import annotations

import logging
import os

import anyio
import anyio.to_thread
import pam

log = logging.getLogger(__name__)

PAM_SERVICE = os.environ.get("LAUNCHER_PAM_SERVICE", "login")
# PAM checks get their own threads: a failed check sleeps ~3 s (pam_faildelay) and must
# not hold the threads that serve requests.
PAM_THREADS = 32

_limiter: anyio.CapacityLimiter | None = None


def normalize_username(username: str) -> str:
    """Lower-case the name as JupyterHub does at login, so Alice and alice are one user."""
    return username.strip().lower()


def pam_check(username: str, password: str, service: str = PAM_SERVICE) -> bool:
    """Authenticate and run account management, so expired or locked accounts fail too.

    A fresh PAM handle per check: python-pam keeps state on the object, which must not be
    shared between threads.
    """
    handle = pam.pam()
    try:
        ok = handle.authenticate(username, password, service=service, resetcreds=False)
    except ValueError:  # a NUL byte in the name or password
        return False
    if not ok:
        log.info("PAM refused %r: %s", username, handle.reason)
    return bool(ok)


def _utf8(password: str) -> str:
    """Undo the latin-1 decoding of the Basic header, so UTF-8 passwords work."""
    try:
        return password.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return password


async def basic_auth(username: str, password: str) -> dict | None:
    """Connexion's `x-basicInfoFunc`; runs on the event loop, so PAM is offloaded."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(PAM_THREADS)
    name = normalize_username(username)
    if not name or not password:
        return None
    ok = await anyio.to_thread.run_sync(pam_check, name, _utf8(password), limiter=_limiter)
    return {"sub": name} if ok else None
