"""Slow, failing and refusing hubs: each launch ends in a notebook or a clear problem,
and the user's files show exactly what happened. One hub with a scripted spawner serves
every scenario; each scenario has its own user. Every test runs against each JupyterHub
release of the matrix (conftest's `hub_release`)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time

import pytest

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer

from .examples import example

# The launcher's narrowest scopes on each major release: JupyterHub 5 has no
# start:servers, and its `servers` (which starts them) grants read:servers as well.
START_SCOPE = {5: "servers", 6: "start:servers"}
# Each service leaves one scope out; on 5.x, no-read still reads through `servers`.
LEFT_OUT = {"no-start": "start", "no-read": "read:servers", "no-access": "access:servers"}


def launcher_scopes(major: int) -> list[str]:
    return [START_SCOPE[major], "read:servers", "access:servers"]


def without(major: int, scope: str) -> list[str]:
    scope = START_SCOPE[major] if scope == "start" else scope
    return [s for s in launcher_scopes(major) if s != scope]


@pytest.fixture(scope="module")
def slow_hub(hub_release, tmp_path_factory):
    """A hub that answers 202 at once, with named servers and a spawn limit of 2."""
    major = hub_release.major
    services = {name: without(major, scope) for name, scope in LEFT_OUT.items()}
    hub = Hub(
        tmp_path_factory.mktemp("slowhub"),
        release=hub_release,
        extra_services={**services, "creates-users": [*launcher_scopes(major), "admin:users"]},
    )
    hub.extra_config = hub.scripted_config() + (
        "c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0, 'slow_stop_timeout': 0}\n"
        "c.JupyterHub.allow_named_servers = True\n"
        "c.JupyterHub.concurrent_spawn_limit = 2\n"
    )
    hub.start()
    yield hub
    hub.stop()


def start_launcher(hub, tmp_path_factory, token=None, **env):
    return LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": token or hub.token, **env},
    ).start()


@pytest.fixture(scope="module")
def slow_launcher(slow_hub, tmp_path_factory):
    server = start_launcher(slow_hub, tmp_path_factory)
    yield server
    server.stop()


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    assert body["type"].endswith(code)
    assert "127.0.0.1" not in response.text
    return body


def files(hub, user) -> list[str]:
    home = hub.home(user.name)
    return sorted(
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(home).parts)
    )


def test_hub_answering_202_is_waited_for(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    slow_hub.script(user.name, start_delay=3)
    started = time.monotonic()
    response = slow_launcher.post("/hello", example("hello", directory="slow"), user.auth)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 3
    assert files(slow_hub, user) == ["slow/experiment.ipynb"]


def test_spawner_that_takes_30_seconds(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    slow_hub.script(user.name, start_delay=30)
    response = slow_launcher.post("/hello", example("hello", directory="patient"), user.auth)
    assert response.status_code == 200, response.text
    assert files(slow_hub, user) == ["patient/experiment.ipynb"]


def test_server_pending_stop_is_started_again(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    assert slow_launcher.post("/hello", example("hello", directory="a"), user.auth).ok
    slow_hub.script(user.name, stop_delay=3)
    assert slow_hub.admin("DELETE", f"/users/{user.name}/server").status_code == 202
    response = slow_launcher.post("/hello", example("hello", directory="b"), user.auth)
    assert response.status_code == 200, response.text
    assert files(slow_hub, user) == ["a/experiment.ipynb", "b/experiment.ipynb"]


def test_spawn_past_the_timeout_is_a_504(slow_hub, tmp_path_factory, make_user):
    # Longer than the hub's 8 s keep-alive, which must not keep the wait going.
    user = make_user(slow_hub)
    slow_hub.script(user.name, start_delay=25)
    launcher = start_launcher(slow_hub, tmp_path_factory, LAUNCHER_SPAWN_TIMEOUT="10")
    try:
        started = time.monotonic()
        response = launcher.post("/hello", example("hello", directory="late"), user.auth)
        elapsed = time.monotonic() - started
    finally:
        launcher.stop()
    body = problem(response, 504, "spawn-timeout")
    assert "10 s" in body["detail"]
    assert 10 <= elapsed < 14
    assert files(slow_hub, user) == []


def test_failing_spawn_says_why(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    slow_hub.script(user.name, fail="no room for this server today")
    response = slow_launcher.post("/hello", example("hello"), user.auth)
    body = problem(response, 502, "spawn-failed")
    assert "no room for this server today" in body["detail"]
    assert files(slow_hub, user) == []


def test_spawn_limit_is_a_429_with_retry_after(slow_hub, slow_launcher, make_user):
    users = [make_user(slow_hub) for _ in range(3)]
    for user in users:
        slow_hub.script(user.name, start_delay=4)
    slow_hub.wait_until_no_spawn_pending()

    def launch(user):
        return slow_launcher.post("/hello", example("hello", directory="limit"), user.auth)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = []
        for user in users:
            futures.append(pool.submit(launch, user))
            time.sleep(0.5)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200, 200, 429]
    problem(responses[2], 429, "spawn-limit")
    assert int(responses[2].headers["Retry-After"]) > 0
    assert files(slow_hub, users[2]) == []


def test_user_who_never_logged_in_is_told_to(slow_hub, slow_launcher, make_user):
    user = make_user()
    body = problem(
        slow_launcher.post("/hello", example("hello"), user.auth), 409, "user-not-on-hub"
    )
    assert "log in" in body["detail"]


def test_unsafe_path_is_refused_before_any_hub_call(slow_launcher, make_user):
    # The user is unknown to the hub: any hub call would end in user-not-on-hub instead.
    user = make_user()
    response = slow_launcher.post("/hello", example("hello", directory="a/../../b"), user.auth)
    body = problem(response, 400, "invalid-path")
    assert body["field"] == "notebook.directory"


def test_users_are_created_where_configured(slow_hub, tmp_path_factory, make_user):
    user = make_user()
    token = slow_hub.service_tokens["creates-users"]
    launcher = start_launcher(slow_hub, tmp_path_factory, token, LAUNCHER_CREATE_USERS="true")
    try:
        response = launcher.post("/hello", example("hello", directory="new"), user.auth)
    finally:
        launcher.stop()
    assert response.status_code == 200, response.text
    assert files(slow_hub, user) == ["new/experiment.ipynb"]


@pytest.mark.parametrize("service", sorted(LEFT_OUT))
def test_missing_scope_is_named(slow_hub, hub_release, tmp_path_factory, make_user, service):
    user = make_user(slow_hub)
    slow_hub.script(user.name, start_delay=1)
    launcher = start_launcher(slow_hub, tmp_path_factory, slow_hub.service_tokens[service])
    try:
        response = launcher.post("/hello", example("hello"), user.auth)
    finally:
        launcher.stop()
    scope = LEFT_OUT[service]
    if scope == "start":
        scope = START_SCOPE[hub_release.major]
    elif hub_release.major < 6 and scope == "read:servers":
        # `servers` grants it on 5.x: the scope left out was never needed there.
        assert response.status_code == 200, response.text
        return
    body = problem(response, 502, "hub-permission")
    assert body["scope"] == scope and f"'{scope}' scope" in body["detail"]
    assert slow_hub.service_tokens[service] not in response.text


def test_named_server_is_created_and_used(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    body = example("hello", directory="named", server="run1")
    response = slow_launcher.post("/hello", body, user.auth)
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    assert f"/user/{user.name}/run1/lab/workspaces/" in location
    assert slow_hub.contents(user.name, "named/experiment.ipynb", server="run1").status_code == 200
    model = slow_hub.admin("GET", f"/users/{user.name}").json()
    assert model["servers"]["run1"]["ready"] is True


def test_named_server_where_the_hub_has_none(versioned_alice, versioned_launcher):
    body = example("hello", server="run1")
    response = versioned_launcher.post("/hello", body, versioned_alice.auth)
    body = problem(response, 400, "server-refused")
    assert "Named servers are not enabled" in body["detail"]


def test_progress_events_end_in_the_location(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    slow_hub.script(user.name, start_delay=2)
    response = slow_launcher.post(
        "/hello",
        example("hello", directory="watched"),
        user.auth,
        headers={"Accept": "text/event-stream"},
        stream=True,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = []
    for block in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    names = [name for name, _ in events]
    assert names[-1] == "launched" and set(names[:-1]) == {"progress"}
    assert any("Scripted start" in data.get("message", "") for _, data in events)
    assert events[-1][1]["location"].endswith("/tree/watched/experiment.ipynb")
    assert files(slow_hub, user) == ["watched/experiment.ipynb"]


def test_progress_stream_ends_in_a_problem(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    slow_hub.script(user.name, fail="image not found")
    response = slow_launcher.post(
        "/hello", example("hello"), user.auth, headers={"Accept": "text/event-stream"}
    )
    last = response.text.strip().split("\n\n")[-1].splitlines()
    assert last[0] == "event: problem"
    body = json.loads(last[1].removeprefix("data: "))
    assert body["code"] == "spawn-failed" and "image not found" in body["detail"]


def test_server_killed_behind_the_hubs_back(slow_hub, slow_launcher, make_user):
    user = make_user(slow_hub)
    assert slow_launcher.post("/hello", example("hello", directory="a"), user.auth).ok
    pid = slow_hub.admin("GET", f"/users/{user.name}").json()["servers"][""]["state"]["pid"]
    os.kill(pid, signal.SIGKILL)
    response = slow_launcher.post("/hello", example("hello", directory="b"), user.auth)
    assert response.status_code == 200, response.text
    assert files(slow_hub, user) == ["a/experiment.ipynb", "b/experiment.ipynb"]


def test_hub_stopped_mid_launch(hub_release, tmp_path_factory, make_user):
    hub = Hub(tmp_path_factory.mktemp("doomedhub"), release=hub_release)
    hub.extra_config = hub.scripted_config()
    hub.start()
    user = make_user(hub)
    hub.script(user.name, start_delay=6)
    launcher = start_launcher(hub, tmp_path_factory)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(
                launcher.post, "/hello", example("hello", directory="doomed"), user.auth
            )
            time.sleep(2)
            hub.stop()
            response = future.result()
    finally:
        launcher.stop()
        hub.stop()
    body = problem(response, 502, response.json().get("code", "?"))
    assert body["code"] in ("hub-unreachable", "hub-error", "spawn-failed")
    assert files(hub, user) == []


def test_two_launches_racing_for_one_name_get_two_files(
    versioned_hub, versioned_alice, versioned_launcher
):
    hub, alice = versioned_hub, versioned_alice
    body = example("hello", directory="race")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: versioned_launcher.post("/hello", body, alice.auth), range(8))
        )
    assert all(r.status_code == 200 for r in responses), [r.json() for r in responses]
    locations = {r.json()["location"].rsplit("/", 1)[1] for r in responses}
    assert locations == {"experiment.ipynb", *(f"experiment-{n}.ipynb" for n in range(1, 8))}
    assert [f for f in files(hub, alice) if f.startswith("race/")] == [
        f"race/{name}" for name in sorted(locations)
    ]
