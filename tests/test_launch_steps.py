"""The steps of one launch, in order: which calls `Launcher` makes to the hub and to the
user's server, mocked at the HTTP layer so that every path runs in-process and at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
import requests_mock as rm

from ewatercycle_experiment_launcher import launch
from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.launch import Launcher
from ewatercycle_experiment_launcher.problems import LauncherProblem

TOKEN = "e" * 64
HUB = "http://hub.invalid:8000"
API = f"{HUB}/hub/api"
FILES = f"{HUB}/user/u/api/contents"
GONE = {"status_code": 302, "headers": {"Location": "/hub/user/u/api/contents/x"}}
RUNNING = {"status_code": 400, "json": {"status": 400, "message": "u is already running"}}


def make_launcher(tmp_path, **env: str) -> Launcher:
    settings = Settings.from_env(
        {
            "JUPYTERHUB_URL": HUB,
            "JUPYTERHUB_TOKEN": TOKEN,
            "LAUNCHER_SPAWN_TIMEOUT": "2",
            "LAUNCHER_LOCK_DIR": str(tmp_path / "locks"),
            **env,
        }
    )
    return Launcher(settings)


@pytest.fixture
def launcher(tmp_path) -> Launcher:
    return make_launcher(tmp_path)


def launch_one(launcher: Launcher, **notebook: Any) -> str:
    body = {"notebook": {"directory": "a/b", **notebook}}
    return launcher.run(launcher.prepare("hello", body, "u"))


def calls(requests_mock) -> list[str]:
    """Every request made, as 'METHOD path', with launching-<random> names made stable."""
    seen = []
    for request in requests_mock.request_history:
        path = unquote(request.path)
        if ".launching-" in path:
            head, _, tail = path.partition(".launching-")
            path = f"{head}.launching-*{tail[16:]}"
        seen.append(f"{request.method} {path}")
    return seen


def rename_targets(requests_mock) -> list[str]:
    return [r.json()["path"] for r in requests_mock.request_history if r.method == "PATCH"]


def warm_server(requests_mock, renames: list[int] | None = None) -> None:
    """A running server; matchers registered later take precedence over these."""
    requests_mock.put(rm.ANY, status_code=201, json={})
    requests_mock.patch(rm.ANY, [{"status_code": s, "json": {}} for s in renames or [200]])


WRITE = [
    "PUT /user/u/api/contents/a",
    "PUT /user/u/api/contents/a/b",
    "PUT /user/u/api/contents/a/b/experiment.launching-*.ipynb",
    "PATCH /user/u/api/contents/a/b/experiment.launching-*.ipynb",
]


def test_warm_server_is_written_first_and_never_started(launcher, requests_mock):
    warm_server(requests_mock)
    url = launch_one(launcher)
    assert calls(requests_mock) == WRITE
    assert rename_targets(requests_mock) == ["a/b/experiment.ipynb"]
    assert url.startswith(f"{HUB}/user/u/lab/workspaces/")
    assert url.endswith("/tree/a/b/experiment.ipynb")
    notebook = requests_mock.request_history[2].json()
    assert (notebook["type"], notebook["format"]) == ("notebook", "json")


def test_write_that_finds_no_server_starts_it_then_writes(launcher, requests_mock):
    warm_server(requests_mock)
    requests_mock.put(f"{FILES}/a", [GONE, {"status_code": 201, "json": {}}])
    requests_mock.post(f"{API}/users/u/server", status_code=201, text="")
    launch_one(launcher)
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        "POST /hub/api/users/u/server",
        *WRITE,
    ]


def test_pending_start_is_followed_until_ready(launcher, requests_mock):
    warm_server(requests_mock)
    requests_mock.put(f"{FILES}/a", [GONE, {"status_code": 201, "json": {}}])
    requests_mock.post(f"{API}/users/u/server", status_code=202, text="")
    requests_mock.get(
        f"{API}/users/u/server/progress",
        text='data: {"progress": 50}\n\ndata: {"progress": 100, "ready": true}\n\n',
        headers={"Content-Type": "text/event-stream"},
    )
    events: list[dict] = []
    launcher.run(launcher.prepare("hello", {"notebook": {"directory": "a/b"}}, "u"), events.append)
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        "POST /hub/api/users/u/server",
        "GET /hub/api/users/u/server/progress",
        *WRITE,
    ]
    assert [e["progress"] for e in events] == [50, 100]


def test_taken_names_are_skipped_for_the_next_numbered_one(launcher, requests_mock):
    warm_server(requests_mock, renames=[409, 409, 200])
    url = launch_one(launcher)
    assert calls(requests_mock) == [*WRITE, WRITE[-1], WRITE[-1]]
    assert rename_targets(requests_mock) == [
        "a/b/experiment.ipynb",
        "a/b/experiment-1.ipynb",
        "a/b/experiment-2.ipynb",
    ]
    assert url.endswith("/tree/a/b/experiment-2.ipynb")


def test_overwrite_puts_the_notebook_in_place(launcher, requests_mock):
    warm_server(requests_mock)
    url = launch_one(launcher, overwrite=True)
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        "PUT /user/u/api/contents/a/b",
        "PUT /user/u/api/contents/a/b/experiment.ipynb",
    ]
    assert url.endswith("/tree/a/b/experiment.ipynb")


def test_named_server_is_started_before_writing(launcher, requests_mock):
    requests_mock.post(f"{API}/users/u/servers/gpu", **RUNNING)
    warm_server(requests_mock)
    url = launch_one(launcher, server="gpu")
    assert calls(requests_mock) == [
        "POST /hub/api/users/u/servers/gpu",
        *(call.replace("/user/u/", "/user/u/gpu/") for call in WRITE),
    ]
    assert "/user/u/gpu/lab/workspaces/" in url


def test_unknown_user_is_created_when_allowed(tmp_path, requests_mock):
    launcher = make_launcher(tmp_path, LAUNCHER_CREATE_USERS="true")
    warm_server(requests_mock)
    requests_mock.put(f"{FILES}/a", [GONE, {"status_code": 201, "json": {}}])
    requests_mock.post(
        f"{API}/users/u/server", [{"status_code": 404, "json": {}}, {"status_code": 201}]
    )
    requests_mock.post(f"{API}/users/u", status_code=201, json={"name": "u"})
    launch_one(launcher)
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        "POST /hub/api/users/u/server",
        "POST /hub/api/users/u",
        "POST /hub/api/users/u/server",
        *WRITE,
    ]


def test_unknown_user_is_not_created_by_default(launcher, requests_mock):
    requests_mock.put(f"{FILES}/a", **GONE)
    requests_mock.post(f"{API}/users/u/server", status_code=404, json={})
    with pytest.raises(LauncherProblem) as caught:
        launch_one(launcher)
    assert caught.value.code == "user-not-on-hub"
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        "POST /hub/api/users/u/server",
    ]


def test_failed_upload_says_what_was_written(launcher, requests_mock):
    requests_mock.put(rm.ANY, status_code=201, json={})
    requests_mock.put(rm.ANY, additional_matcher=lambda r: "launching-" in r.path, status_code=500)
    with pytest.raises(LauncherProblem) as caught:
        launch_one(launcher)
    problem = caught.value
    assert problem.code == "upload-failed"
    assert problem.ext["written"] == {"directory": "a/b", "notebook": None}
    assert problem.detail == (
        "Could not write the notebook (the server answered 500); the folder 'a/b' may "
        "have been created, no notebook was written"
    )
    assert calls(requests_mock) == WRITE[:3]


def test_server_gone_on_every_try_ends_in_the_problem(launcher, requests_mock, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(launch.time, "sleep", slept.append)
    requests_mock.put(f"{FILES}/a", **GONE)
    requests_mock.post(f"{API}/users/u/server", **RUNNING)
    with pytest.raises(LauncherProblem) as caught:
        launch_one(launcher)
    problem = caught.value
    assert (problem.code, problem.status) == ("server-gone", 502)
    assert "written" not in problem.ext
    tries = 1 + launch.GONE_RETRIES
    assert calls(requests_mock) == [
        "PUT /user/u/api/contents/a",
        *["POST /hub/api/users/u/server", "PUT /user/u/api/contents/a"] * (tries - 1),
    ]
    assert slept == [0.5, 1.0, 1.5]
