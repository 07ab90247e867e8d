"""cold_launches: 100 launches for 100 different users fired at once (a barrier), each
user's server starting with a 3 s spawner delay, once with a hub that answers 202 at once
and once with one that answers 201 after the spawn; every notebook is read back through
the hub's proxy.

Compared with the floor 3 s + 3 s = 6 s. Also the same launches with the hub calls only
(the launcher's own `HubClient` in this process: no HTTP front, no PAM), to show what
the hub itself needs on this machine. The workers' memory is sampled meanwhile, for the
`memory` scenario.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from ewatercycle_experiment_launcher import notebooks
from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.hub import HubClient
from ewatercycle_experiment_launcher.localhub import Hub, OSUser

from ..bench import Bench, stop_servers
from ..clients import Outcome, good_seconds, hello_body, launch, outcome_summary, session
from ..measure import RssSampler, cpu_text
from ..report import Row, median

LOCATION = re.compile(r"/user/(?P<user>[^/]+)/lab/workspaces/[^/]+/tree/(?P<path>.+)$")
ANSWERS = {"pending": "202", "blocking": "201"}


def fire_at_once(
    url: str, users: list[OSUser], directory: str, timeout: float
) -> tuple[float, list[Outcome]]:
    """One launch per user, all fired at once; the wall time until the last answer."""
    barrier = threading.Barrier(len(users) + 1)
    outcomes: list[Outcome | None] = [None] * len(users)

    def fire(i: int, user: OSUser) -> None:
        s = session()
        body = hello_body(directory, "experiment.ipynb")
        barrier.wait()
        outcomes[i] = launch(s, url, body, user.auth, timeout=timeout)

    threads = [threading.Thread(target=fire, args=iu, daemon=True) for iu in enumerate(users)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(timeout + 30)
    done = [x for x in outcomes if x is not None]
    return max((x.ended for x in done), default=time.perf_counter()) - started, done


def written(hub: Hub, outcomes: list[Outcome]) -> int:
    """How many of the launched notebooks the hub's proxy serves back."""

    def check(outcome: Outcome) -> bool:
        match = LOCATION.search(outcome.location)
        if not match:
            return False
        response = hub.contents(unquote(match["user"]), unquote(match["path"]), content="0")
        return response.status_code == 200 and response.json().get("type") == "notebook"

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(check, [x for x in outcomes if x.ok]))


def hub_calls_only(hub: Hub, users: list[OSUser], timeout: float) -> tuple[float, list[str]]:
    """The same launches without the launcher's front (HTTP, Connexion, PAM): the
    launcher's own `HubClient`, in this process, one thread per user, all at once."""
    settings = Settings(
        hub_url=hub.url, hub_token=hub.token, hub_api_url=hub.api, spawn_timeout=timeout
    )
    client = HubClient(settings)
    barrier = threading.Barrier(len(users) + 1)
    ended: list[float] = []
    errors: list[str] = []
    directory = ("bench3alone",)
    notebook = notebooks.build("hello", {"notebook": {"directory": directory[0]}})

    def one(user: OSUser) -> None:
        barrier.wait()
        try:
            if not client.servers.start(user.name, ""):
                client.servers.wait_until_ready(user.name, "")
            client.contents.make_directories(user.name, "", directory)
            client.notebooks.write(user.name, "", directory, "experiment.ipynb", notebook)
            ended.append(time.perf_counter())
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(timeout + 30)
    return max(ended, default=started) - started, errors


def _launch_mode(bench: Bench, hub: Hub, mode: str, timeout: float) -> dict[str, Any]:
    """The launches through this launcher, with its workers' memory and everyone's CPU."""
    ours = bench.shared(hub)
    sampler = RssSampler(ours.process.pid)
    sampler.sample()
    idle = dict(sampler.first)
    sampler.start()
    meter = bench.cpu_meter(hub, ours).start()
    wall, outcomes = fire_at_once(ours.url, bench.cold_users, f"bench3{mode}", timeout)
    cpu = meter.stop()
    peak = sampler.stop()
    good = good_seconds(outcomes)
    return {
        "wall_s": wall,
        "written": written(hub, outcomes),
        "failed": outcome_summary([x for x in outcomes if not x.ok]),
        "median_s": median(good),
        "max_s": max(good, default=float("nan")),
        "standin": bench.standin.stats(),
        "cpu": cpu,
        "memory": {
            "idle": {str(k): round(v, 1) for k, v in idle.items()},
            "peak": {str(k): round(v, 1) for k, v in peak.items()},
        },
    }


def _launch_row(bench: Bench, mode: str, r: dict[str, Any], floor: float) -> Row:
    n, delay = len(bench.cold_users), bench.o.spawn_delay
    failed = f", failed: {r['failed']}" if r["failed"] else ""
    return Row(
        f"cold_launches: {n} at once, spawner {delay:g} s, hub answers {ANSWERS[mode]}, "
        f"-w {bench.o.workers}",
        f"{r['wall_s']:.2f} s wall, {r['written']}/{n} written{failed} "
        f"(median launch {r['median_s']:.2f} s)",
        f"floor {floor:g} s (spawner {delay:g} s + 3 s)",
        r["wall_s"] / floor,
        "<= 1.00",
        r["written"] == n and r["wall_s"] <= floor,
    )


def _hub_alone(bench: Bench, hub: Hub, mode: str, r: dict[str, Any], floor: float) -> None:
    bench.log("cold_launches: the same spawns and writes asked of the hub directly")
    users = bench.cold_users
    stop_servers(hub, [u.name for u in users])
    meter = bench.cpu_meter(hub, None).start()
    alone, errors = hub_calls_only(hub, users, bench.o.spawn_delay + 120)
    cpu = meter.stop()
    if errors:
        bench.report.notes.append(f"hub calls only: {len(errors)} errors: {Counter(errors)}")
    bench.report.notes.append(
        f"cold_launches ({mode}, hub calls only) CPU seconds: {cpu_text(cpu)}"
    )
    r["hub_alone_s"], r["hub_alone_cpu"] = alone, cpu
    bench.report.rows.append(
        Row(
            f"cold_launches: the same {len(users)}, hub answers {ANSWERS[mode]}, hub calls "
            "only (the launcher's HubClient in-process: no HTTP front, no PAM)",
            f"{alone:.2f} s wall",
            f"floor {floor:g} s; this project above: {r['wall_s']:.2f} s",
            r["wall_s"] / alone if alone else None,
            "launcher/hub",
        )
    )


def run(bench: Bench) -> None:
    o = bench.o
    floor, timeout = o.spawn_delay + 3.0, o.spawn_delay + 120
    details: dict[str, Any] = {}
    for mode in [m for m in ANSWERS if m in o.cold_modes]:
        hub = bench.hub_pending if mode == "pending" else bench.hub
        if hub is None:
            continue
        hub.script_path.write_text(json.dumps({"*": {"start_delay": o.spawn_delay}}))
        bench.log(f"cold_launches: {len(bench.cold_users)} at once, hub answers {ANSWERS[mode]}")
        r = details[mode] = _launch_mode(bench, hub, mode, timeout)
        bench.report.notes.append(f"cold_launches ({mode}) CPU seconds: {cpu_text(r['cpu'])}")
        if "cold_launches" in o.scenarios:
            bench.report.rows.append(_launch_row(bench, mode, r, floor))
        if o.hub_alone and "cold_launches" in o.scenarios:
            _hub_alone(bench, hub, mode, r, floor)
    bench.report.details["cold_launches"] = details
