"""Three launchers, each its own gunicorn with its own lock folder as on three hosts,
sharing one real Redis, against one real hub: what holds across replicas, and what
happens when Redis goes away and comes back."""

from __future__ import annotations

import concurrent.futures
import re
import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests

from ewatercycle_experiment_launcher import shared
from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.localhub import LauncherServer, RedisServer
from ewatercycle_experiment_launcher.locks import FolderClaims, folder_lock, lease_name
from ewatercycle_experiment_launcher.problems import LauncherProblem

from .examples import example

LEASE = 10  # seconds: LAUNCHER_HUB_TIMEOUT of the replicas, the life of a lease
RACERS = 30
LIMIT = 5
PATH = re.compile(r"/lab/workspaces/[^/]+/tree/(?P<path>.+)$")


def start_three(hub, workdir, **env: str) -> list[LauncherServer]:
    common = {
        "JUPYTERHUB_URL": hub.url,
        "JUPYTERHUB_TOKEN": hub.token,
        "LAUNCHER_HUB_TIMEOUT": str(LEASE),
        "LAUNCHER_FAILED_LOGINS_PER_USER": f"{LIMIT}/minute",
        "LAUNCHER_FAILED_LOGINS_PER_ADDRESS": "1000/minute",
        **env,
    }
    servers = []
    for n in range(3):
        home = workdir / f"replica{n}"
        home.mkdir()
        servers.append(LauncherServer(home, {**common, "LAUNCHER_LOCK_DIR": str(home / "locks")}))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        list(pool.map(LauncherServer.start, servers))
    return servers


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(hub, redis_server, tmp_path_factory):
    servers = start_three(
        hub, tmp_path_factory.mktemp("replicas"), LAUNCHER_REDIS_URL=redis_server.url
    )
    wait_out_restart_grace(redis_server)
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def lone(hub, tmp_path_factory):
    """Three launchers without Redis: each host on its own, as before."""
    servers = start_three(hub, tmp_path_factory.mktemp("lone"))
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def warm(hub, alice, replicas):
    """alice's server running and her login remembered by every replica. The server is
    started through the hub, which may take longer than the replicas' hub timeout."""
    started = hub.admin("POST", f"/users/{alice.name}/server")
    assert started.status_code in (201, 202, 400), started.text
    hub.wait_until_no_spawn_pending()
    for server in replicas:
        response = server.post("/hello", example("hello", directory="warm"), alice.auth)
        assert response.status_code == 200, response.text
    return alice


def wait_out_restart_grace(redis_server: RedisServer, lease: float = LEASE) -> None:
    """A Redis up for less than a lease grants no lease."""
    while redis_server.uptime() < lease:
        time.sleep(0.2)


def opendap_body(directory: str, marker: str) -> dict:
    body = example("opendap", directory=directory)
    body["opendap"] = f"http://127.0.0.1/{marker}.nc"
    return body


def written_path(response: requests.Response) -> str:
    match = PATH.search(response.json()["location"])
    assert match, response.text
    return unquote(match["path"])


def notebook_text(hub, user: str, path: str) -> str:
    response = hub.contents(user, path)
    assert response.status_code == 200, response.text
    return "\n".join(cell["source"] for cell in response.json()["content"]["cells"])


def folder_names(hub, user: str, directory: str) -> list[str]:
    response = hub.contents(user, directory)
    assert response.status_code == 200, response.text
    return sorted(entry["name"] for entry in response.json()["content"])


def race(servers, bodies, auth) -> list[requests.Response]:
    """Every body posted at once, spread over the servers in turn."""
    barrier = threading.Barrier(len(bodies))

    def launch(i: int) -> requests.Response:
        barrier.wait()
        return servers[i % len(servers)].post("/opendap", bodies[i], auth)

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(launch, range(len(bodies))))


def test_racing_launches_over_three_replicas_get_distinct_files(hub, warm, replicas):
    directory = f"race-{secrets.token_hex(4)}"
    markers = [f"racer-{i}" for i in range(RACERS)]
    started = time.monotonic()
    responses = race(replicas, [opendap_body(directory, m) for m in markers], warm.auth)
    print(f"{RACERS} racing launches took {time.monotonic() - started:.1f} s")
    assert [r.status_code for r in responses] == [200] * RACERS, [r.text for r in responses]
    locations = {r.json()["location"] for r in responses}
    assert len(locations) == RACERS
    expected = {"experiment.ipynb"} | {f"experiment-{n}.ipynb" for n in range(1, RACERS)}
    assert folder_names(hub, warm.name, directory) == sorted(expected)
    for marker, response in zip(markers, responses, strict=True):
        text = notebook_text(hub, warm.name, written_path(response))
        assert f"/{marker}.nc" in text
        assert len(re.findall(r"/racer-\d+\.nc", text)) == 1


def test_a_lease_held_anywhere_holds_up_every_replica_until_it_lapses(
    hub, warm, replicas, redis_server
):
    directory = f"dead-{secrets.token_hex(4)}"
    # Taken as a replica takes it, then never renewed nor given back: its holder died.
    taken = redis_server.client().lock(lease_name(warm.name, "", directory), timeout=LEASE)
    assert taken.acquire(blocking=False)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(s.post, "/opendap", opendap_body(directory, f"after-{n}"), warm.auth)
            for n, s in enumerate(replicas)
        ]
        done, _ = concurrent.futures.wait(futures, timeout=LEASE / 2)
        assert not done
        responses = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    print(f"a dead replica's lease held the folder for {elapsed:.1f} s")
    assert [r.status_code for r in responses] == [200] * 3
    assert LEASE / 2 < elapsed < LEASE + 10
    assert len(set(folder_names(hub, warm.name, directory))) == 3


def test_without_redis_a_host_lock_holds_up_only_its_own_host(hub, warm, lone):
    """The control: separate lock folders do not exclude each other."""
    directory = f"lone-{secrets.token_hex(4)}"
    lock_dir = Path(lone[0].env["LAUNCHER_LOCK_DIR"])
    body = opendap_body(directory, "lone")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with folder_lock(lock_dir, warm.name, "", directory):
            same_host = pool.submit(lone[0].post, "/opendap", body, warm.auth)
            other_host = lone[1].post("/opendap", body, warm.auth)
            assert other_host.status_code == 200, other_host.text
            time.sleep(1)
            assert not same_host.done()
        assert same_host.result().status_code == 200
    assert len(folder_names(hub, warm.name, directory)) == 2


def test_failed_logins_are_counted_once_over_all_replicas(replicas, lone, make_user):
    one_by_one, at_once, control = make_user(), make_user(), make_user()

    def guess(server, user, password="wrong") -> int:
        return server.post("/hello", example("hello"), (user.name, password)).status_code

    def sequential() -> tuple[list[int], list[int], int]:
        failures = [guess(replicas[i % 3], one_by_one) for i in range(LIMIT)]
        after = [guess(server, one_by_one) for server in replicas]
        return failures, after, guess(replicas[0], one_by_one, one_by_one.password)

    def burst() -> Counter:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            return Counter(pool.map(lambda i: guess(replicas[i % 3], at_once), range(12)))

    def per_host() -> list[int]:
        return [guess(lone[i % 3], control) for i in range(LIMIT + 1)]

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        flows = pool.submit(sequential), pool.submit(burst), pool.submit(per_host)
        (failures, after, valid), counts, control_statuses = (f.result() for f in flows)
    print(f"guesses at once: {dict(counts)}; without Redis: {control_statuses}")
    assert failures == [401] * LIMIT
    assert after == [429] * 3
    assert valid == 429
    # Guesses at once: each of the 3 processes may have one check under way when the
    # limit is reached, so at most 2 more than the limit fail with 401.
    assert set(counts) <= {401, 429}
    assert LIMIT <= counts[401] <= LIMIT + 2
    # Without Redis, the sixth guess lands on a host that has seen only one of them.
    assert control_statuses == [401] * (LIMIT + 1)


def test_redis_outage_mid_burst_loses_nothing_and_recovers(
    hub, warm, replicas, redis_server, make_user
):
    directory = f"outage-{secrets.token_hex(4)}"
    first = replicas[0].post("/opendap", opendap_body(directory, "first"), warm.auth)
    assert first.status_code == 200, first.text
    original = notebook_text(hub, warm.name, f"{directory}/experiment.ipynb")
    stranger = make_user()
    markers = [f"burst-{i}" for i in range(RACERS)]

    def launch(i: int) -> requests.Response:
        time.sleep(i * 0.1)
        return replicas[i % 3].post("/opendap", opendap_body(directory, markers[i]), warm.auth)

    with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
        futures = [pool.submit(launch, i) for i in range(RACERS)]
        time.sleep(1.0)
        redis_server.stop()
        during = [requests.get(f"{s.url}/health", timeout=30) for s in replicas]
        refused = replicas[1].post("/hello", example("hello"), (stranger.name, "wrong"))
        time.sleep(1.0)
        redis_server.start()
        restarted = time.monotonic()
        responses = [f.result() for f in futures]

    assert [r.status_code for r in during] == [503] * 3
    assert all(r.json()["redis"] == "unreachable" for r in during)
    assert refused.status_code == 401
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 503}, [r.text for r in responses]
    assert statuses[503] > 0
    for response in responses:
        if response.status_code == 503:
            problem = response.json()
            assert problem["code"] == "shared-state-unavailable"
            assert "written" not in problem
            assert int(response.headers["Retry-After"]) >= 1
    launched = [(m, r) for m, r in zip(markers, responses, strict=True) if r.status_code == 200]
    paths = [written_path(r) for _, r in launched]
    assert len(set(paths)) == len(paths)
    assert len(folder_names(hub, warm.name, directory)) == len(launched) + 1
    assert notebook_text(hub, warm.name, f"{directory}/experiment.ipynb") == original
    for marker, response in launched:
        assert f"/{marker}.nc" in notebook_text(hub, warm.name, written_path(response))

    # Back without restarting any launcher, once Redis has been up for a lease.
    for n, server in enumerate(replicas):
        while True:
            response = server.post("/opendap", opendap_body(directory, f"back-{n}"), warm.auth)
            if response.status_code == 200:
                break
            assert response.json()["code"] == "shared-state-unavailable"
            assert time.monotonic() - restarted < LEASE + 10
            time.sleep(0.5)
    recovered = time.monotonic() - restarted
    assert recovered < LEASE + 10
    health = [requests.get(f"{s.url}/health", timeout=30) for s in replicas]
    assert [r.status_code for r in health] == [200] * 3
    assert all(r.json()["redis"] == "reachable" for r in health)
    # Failed logins are counted in Redis again, by the replica that fell back and by one
    # whose connections Redis's restart cut.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        wrong = list(
            pool.map(
                lambda s: s.post("/hello", example("hello"), (stranger.name, "wrong")),
                replicas[1:],
            )
        )
    assert [r.status_code for r in wrong] == [401, 401]
    client = redis_server.client()
    assert [client.llen(key) for key in client.keys(f"*/user/{stranger.name}/*")] == [2]
    print(f"outage answers {dict(statuses)}; launches back {recovered:.1f} s after restart")


def test_a_running_launch_keeps_its_turn_past_the_lease(redis_server, monkeypatch):
    """The lease is renewed while its holder lives; a second replica waits in vain
    for its patience (`LAUNCHER_SPAWN_TIMEOUT`) and is told so."""
    monkeypatch.setattr(shared, "MIN_LEASE", 1.0)  # a short lease keeps the test short
    settings = Settings.from_env(
        {
            "JUPYTERHUB_URL": "http://127.0.0.1:9",
            "JUPYTERHUB_TOKEN": "unused",
            "LAUNCHER_REDIS_URL": redis_server.url,
            "LAUNCHER_HUB_TIMEOUT": "1",
            "LAUNCHER_SPAWN_TIMEOUT": "0.5",
        }
    )
    holder, other = FolderClaims(settings), FolderClaims(settings)
    assert holder.lease == 1.0
    wait_out_restart_grace(redis_server, holder.lease)
    parts = ("someone", "", f"long-{secrets.token_hex(4)}")
    with holder.hold(*parts):
        time.sleep(holder.lease * 1.4)
        with pytest.raises(LauncherProblem) as refused, other.hold(*parts):
            pass
    assert refused.value.code == "shared-state-unavailable"
    assert "turn" in refused.value.detail
    with other.hold(*parts):
        pass
