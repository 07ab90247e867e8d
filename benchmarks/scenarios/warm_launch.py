"""warm_launch: one user with a running server launches 40 times in a row.

Compared with its floor: the very hub calls a warm launch makes (PUT the folder, PUT the
notebook under a temporary name, PATCH it onto a free name), timed directly with the
launcher's token and interleaved with the launches, plus one PAM check, plus 5 ms. Run
with the login cache on (the default: PAM only on the first launch) and off. The
launcher's own share is the launch's median minus the medians of what it waits for: the
three hub calls, and PAM too when the cache is off.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import quote

import requests

from ewatercycle_experiment_launcher import notebooks
from ewatercycle_experiment_launcher.auth import pam_check
from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer, OSUser

from ..bench import Bench
from ..clients import Outcome, good_seconds, hello_body, launch, session, unique_filename
from ..launcherlog import access_durations, log_size
from ..report import Row, median, ms, pct

ALLOWANCE_S = 0.005
PAM = "PAM check (success)"
CACHE_ON = "login cache on (default 60 s)"
CACHE_OFF = "LAUNCHER_LOGIN_CACHE_SECONDS=0"
DIRECTORY = "bench1"


def _timed(s: requests.Session, method: str, url: str, expect: int, **kw: Any) -> float:
    started = time.perf_counter()
    response = s.request(method, url, timeout=30, allow_redirects=False, **kw)
    seconds = time.perf_counter() - started
    if response.status_code != expect:
        raise RuntimeError(f"floor {method}: {response.status_code} {response.text[:200]}")
    return seconds


def floor_sample(s: requests.Session, hub: Hub, user: OSUser) -> dict[str, float]:
    """The hub calls of one warm launch, timed directly, and one PAM check."""
    base = f"{hub.url}/user/{quote(user.name, safe='')}/api/contents"
    notebook = notebooks.build("hello", {"notebook": {"directory": DIRECTORY}})
    tmp = f"{DIRECTORY}/x.launching-{secrets.token_hex(8)}.ipynb"
    model = {"type": "notebook", "format": "json", "content": notebook}
    steps = {
        "PUT directory": _timed(
            s, "PUT", f"{base}/{quote(DIRECTORY)}", 201, json={"type": "directory"}
        ),
        "PUT notebook (temporary name)": _timed(s, "PUT", f"{base}/{quote(tmp)}", 201, json=model),
        "PATCH rename onto a free name": _timed(
            s,
            "PATCH",
            f"{base}/{quote(tmp)}",
            200,
            json={"path": f"{DIRECTORY}/{unique_filename('f')}"},
        ),
    }
    started = time.perf_counter()
    if not pam_check(user.name, user.password):
        raise RuntimeError("PAM refused a benchmark user")
    steps[PAM] = time.perf_counter() - started
    return steps


def launches(
    bench: Bench, url: str, user: OSUser, n: int, floor: bool
) -> tuple[list[Outcome], dict[str, list[float]]]:
    """`n` launches one after the other, each followed by a floor sample if `floor`."""
    s_launch, s_hub = session(), session()
    s_hub.headers["Authorization"] = f"token {bench.hub.token}"
    for _ in range(3):  # warm-up: connections, the login cache of the worker(s)
        launch(s_launch, url, hello_body(DIRECTORY), user.auth)
        if floor:
            floor_sample(s_hub, bench.hub, user)
    outcomes: list[Outcome] = []
    steps: dict[str, list[float]] = {}
    deadline = time.monotonic() + max(60.0, n * 2.0)
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        outcomes.append(launch(s_launch, url, hello_body(DIRECTORY), user.auth))
        if floor:
            for step, seconds in floor_sample(s_hub, bench.hub, user).items():
                steps.setdefault(step, []).append(seconds)
    return outcomes, steps


def _measure(bench: Bench, server: LauncherServer, steps: dict[str, list[float]]) -> dict:
    offset = log_size(server)
    outcomes, sampled = launches(
        bench, server.url, bench.warm_users[0], bench.o.warm_launches, True
    )
    for step, values in sampled.items():
        steps.setdefault(step, []).extend(values)
    good = good_seconds(outcomes)
    return {
        "median_s": median(good),
        "p95_s": pct(good, 0.95),
        "n": len(good),
        "failed": [x for x in outcomes if not x.ok],
        "server_side_median_ms": median(access_durations(server, offset)),
    }


def _row(bench: Bench, label: str, r: dict, floor: float, compared: str) -> Row:
    failed = f", {len(r['failed'])} failed" if r["failed"] else ""
    return Row(
        f"warm_launch: median, -w {bench.o.workers}, {label}",
        f"{ms(r['median_s'])} (p95 {ms(r['p95_s'])}, n={r['n']}{failed})",
        compared,
        r["median_s"] / floor,
        "<= 1.00",
        r["n"] > 0 and not r["failed"] and r["median_s"] <= floor,
    )


def _own_share(results: dict[str, dict], hub_calls: float, pam: float) -> dict[str, float]:
    """What the launcher adds over what it waits for: the hub calls, and PAM without the
    login cache."""
    share = {CACHE_ON: results[CACHE_ON]["median_s"] - hub_calls}
    if CACHE_OFF in results:
        share[CACHE_OFF] = results[CACHE_OFF]["median_s"] - hub_calls - pam
    return share


def _share_row(share: dict[str, float], hub_calls: float, pam: float) -> Row:
    ours = f"login cache on {ms(share[CACHE_ON])}"
    compared = f"over the hub calls {ms(hub_calls)}"
    if CACHE_OFF in share:
        ours += f"; off {ms(share[CACHE_OFF])}"
        compared += f" (cache off: + PAM {ms(pam)})"
    return Row("warm_launch: the launcher's own share, median", ours, compared)


def _original_row(bench: Bench, ours_median: float) -> Row:
    n = max(5, bench.o.warm_launches // 2)
    outcomes, _ = launches(bench, bench.original.url, bench.warm_users[0], n, False)
    good = good_seconds(outcomes)
    return Row(
        "warm_launch: median vs the original",
        ms(ours_median),
        f"original 0.2.0: {ms(median(good))} (n={len(good)})",
        ours_median / median(good) if good else None,
    )


def _breakdown(medians: dict[str, float], results: dict, share: dict[str, float]) -> str:
    hub_calls = sum(v for k, v in medians.items() if k != PAM)
    lines = [
        "warm_launch breakdown (medians, same run, same user, interleaved with the launches):"
    ]
    lines += [f"  {step:<44} {ms(value):>10}" for step, value in medians.items()]
    lines.append(f"  {'hub calls of a warm launch':<44} {ms(hub_calls):>10}")
    lines.append(
        f"  {'floor = hub calls + PAM + 5 ms':<44} "
        f"{ms(hub_calls + medians[PAM] + ALLOWANCE_S):>10}"
    )
    for label, r in results.items():
        waits = "hub calls" + (" + PAM" if label == CACHE_OFF else "")
        lines.append(
            f"  launch, {label}: client {ms(r['median_s'])}, server access log "
            f"{r['server_side_median_ms']:.1f} ms, the launcher's own over the {waits}: "
            f"{ms(share[label])}"
        )
    return "\n".join(lines)


def run(bench: Bench) -> None:
    bench.log("warm_launch: warm launches against the hub calls they make + PAM")
    steps: dict[str, list[float]] = {}
    results = {CACHE_ON: _measure(bench, bench.shared(bench.hub), steps)}
    if bench.o.variants:
        nocache = bench.shared(bench.hub, LAUNCHER_LOGIN_CACHE_SECONDS="0")
        results[CACHE_OFF] = _measure(bench, nocache, steps)
    medians = {step: median(values) for step, values in steps.items()}
    pam = medians[PAM]
    hub_calls = sum(v for k, v in medians.items() if k != PAM)
    floor = hub_calls + pam + ALLOWANCE_S
    compared = f"floor {ms(floor)} = hub calls {ms(hub_calls)} + PAM {ms(pam)} + 5 ms"
    bench.report.rows += [_row(bench, label, r, floor, compared) for label, r in results.items()]
    share = _own_share(results, hub_calls, pam)
    bench.report.rows.append(_share_row(share, hub_calls, pam))
    if bench.original is not None:
        bench.report.rows.append(_original_row(bench, results[CACHE_ON]["median_s"]))
    bench.report.notes.append(_breakdown(medians, results, share))
    bench.report.details["warm_launch"] = {
        "floor_ms": floor * 1000,
        "floor_steps_median_ms": {k: round(v * 1000, 2) for k, v in medians.items()},
        "own_share_ms": {k: round(v * 1000, 2) for k, v in share.items()},
        **{label: {**r, "failed": len(r["failed"])} for label, r in results.items()},
    }
