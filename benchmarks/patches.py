"""EXPERIMENTS ONLY: proposed launcher changes, applied by monkeypatching inside the
launcher processes that a benchmark run starts with `--patch NAME[,NAME]`.

Nothing here changes the package: the figures of a patched run are *not* the project's,
and the table marks every row of such a run with `[PATCHED: ...]`. They measure what a
change would bring before the lead makes it in the package.

`gunicorn ... benchmarks.patches:app` with LAUNCHER_BENCH_PATCHES=pam-slots,fail-delay:

- `pam-slots`: at most LAUNCHER_BENCH_PAM_SLOTS (default: the number of CPUs) PAM checks
  at once per worker instead of 32. A successful check is ~35 ms of CPU and ~16 MiB of
  memory (yescrypt); more checks at once than cores only share the CPU (all of them
  finish late instead of the first ones early) and multiply the memory.
- `fail-delay`: the application takes over PAM's failure delay (pam_faildelay, ~3 s):
  libpam calls a PAM_FAIL_DELAY callback instead of sleeping in the PAM thread, and the
  launcher then waits that long on the event loop before it answers 401. A failing login
  is still slow for the caller, but no longer holds a PAM slot (nor a thread) while it
  waits, so a handful of failing logins cannot queue the valid ones behind them.
"""

from __future__ import annotations

import contextvars
import ctypes
import logging
import os

import anyio

from ewatercycle_experiment_launcher import auth

log = logging.getLogger("ewatercycle_experiment_launcher.bench-patches")

PATCHES = {p.strip() for p in os.environ.get("LAUNCHER_BENCH_PATCHES", "").split(",") if p}
KNOWN = {"pam-slots", "fail-delay"}

PAM_FAIL_DELAY = 10  # pam_set_item item type, from <security/_pam_types.h>
_DELAY_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)
_failure_delay: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "failure_delay", default=None
)


def pam_check_delegating_delay(username: str, password: str, service: str = "login") -> bool:
    """`auth.pam_check`, but libpam reports its failure delay instead of sleeping."""
    import pam

    handle = pam.pam()
    holder = _failure_delay.get()
    reported = {"seconds": 0.0}

    @_DELAY_FN
    def on_delay(status: int, usec: int, _appdata: int) -> None:
        reported["seconds"] = usec / 1e6

    real_authenticate = handle.pam_authenticate

    def authenticate(pamh, flags):  # python-pam calls it through the instance
        handle.pam_set_item(pamh, PAM_FAIL_DELAY, ctypes.cast(on_delay, ctypes.c_void_p))
        return real_authenticate(pamh, flags)

    handle.pam_authenticate = authenticate
    try:
        ok = handle.authenticate(username, password, service=service, resetcreds=False)
    except ValueError:
        ok = False
    if not ok:
        log.info("PAM refused %r: %s", username, handle.reason)
        if holder is not None:
            holder["seconds"] = reported["seconds"]
    return bool(ok)


def _apply() -> None:
    unknown = PATCHES - KNOWN
    if unknown:
        raise SystemExit(f"unknown LAUNCHER_BENCH_PATCHES {sorted(unknown)}; known: {KNOWN}")
    if "pam-slots" in PATCHES:
        auth.PAM_THREADS = int(os.environ.get("LAUNCHER_BENCH_PAM_SLOTS") or os.cpu_count() or 2)
    if "fail-delay" in PATCHES:
        auth.pam_check = pam_check_delegating_delay
        original_basic = auth.Authenticator.basic

        async def basic(self, username, password, address):
            holder: dict = {}
            token = _failure_delay.set(holder)
            try:
                result = await original_basic(self, username, password, address)
            finally:
                _failure_delay.reset(token)
            if result is None and holder.get("seconds"):
                await anyio.sleep(holder["seconds"])  # PAM slot and thread already free
            return result

        auth.Authenticator.basic = basic


_apply()

from ewatercycle_experiment_launcher.serve import app  # noqa: E402,F401
