"""Hub failures that a real hub cannot be made to produce on demand, mocked at the HTTP
layer; each must become a catalogued problem without the token or the hub's URLs."""

from __future__ import annotations

import pytest
import requests
import requests_mock as rm

from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.hub import HubClient
from ewatercycle_experiment_launcher.problems import LauncherProblem

TOKEN = "f" * 64
HUB = "http://hub.invalid:8000"
API = f"{HUB}/hub/api"


@pytest.fixture
def client():
    settings = Settings.from_env(
        {"JUPYTERHUB_URL": HUB, "JUPYTERHUB_TOKEN": TOKEN, "LAUNCHER_SPAWN_TIMEOUT": "2"}
    )
    return HubClient(settings)


def problem_of(call) -> LauncherProblem:
    with pytest.raises(LauncherProblem) as caught:
        call()
    problem = caught.value
    text = str(problem.to_problem().body) + problem.detail
    assert TOKEN not in text
    assert "hub.invalid" not in text
    return problem


def test_unreachable(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", exc=requests.ConnectionError("refused"))
    assert problem_of(lambda: client.servers.start("u")).code == "hub-unreachable"


def test_timeout(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", exc=requests.ReadTimeout)
    problem = problem_of(lambda: client.servers.start("u"))
    assert (problem.code, problem.status) == ("hub-timeout", 504)


def test_server_error_is_summarised(client, requests_mock):
    requests_mock.get(f"{API}/users/u", status_code=503, json={"message": "database is locked"})
    problem = problem_of(lambda: client.servers.state("u"))
    assert (problem.code, problem.status) == ("hub-error", 502)
    assert "database is locked" in problem.detail


def test_failed_start_says_why_from_the_progress_stream(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", status_code=500, json={"message": "Error"})
    requests_mock.get(
        f"{API}/users/u/server/progress",
        text='data: {"progress": 100, "failed": true, "message": "Spawn failed: disk full"}\n\n',
        headers={"Content-Type": "text/event-stream"},
    )
    problem = problem_of(lambda: client.servers.start("u"))
    assert (problem.code, problem.status) == ("spawn-failed", 502)
    assert "disk full" in problem.detail


def test_failed_start_without_progress_quotes_the_hub(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", status_code=500, json={"message": "no room"})
    requests_mock.get(f"{API}/users/u/server/progress", exc=requests.ConnectionError)
    problem = problem_of(lambda: client.servers.start("u"))
    assert problem.code == "spawn-failed" and "no room" in problem.detail


def test_html_error_page_is_not_echoed(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", status_code=502, text="<html>" + "x" * 5000)
    problem = problem_of(lambda: client.servers.start("u"))
    assert "<html>" not in problem.detail and len(problem.detail) < 200


def test_missing_scope_is_named(client, requests_mock):
    requests_mock.post(
        f"{API}/users/u/server", status_code=403, json={"status": 403, "message": "nope"}
    )
    problem = problem_of(lambda: client.servers.start("u"))
    assert problem.code == "hub-permission"
    assert "start:servers" in problem.detail


def test_unknown_user(client, requests_mock):
    requests_mock.post(f"{API}/users/u/server", status_code=404, json={"status": 404})
    problem = problem_of(lambda: client.servers.start("u"))
    assert (problem.code, problem.status) == ("user-not-on-hub", 409)
    assert "log in" in problem.detail


def test_spawn_limit_passes_retry_after_on(client, requests_mock):
    requests_mock.post(
        f"{API}/users/u/server",
        status_code=429,
        headers={"Retry-After": "17"},
        json={"message": "Too many users trying to log in right now"},
    )
    problem = problem_of(lambda: client.servers.start("u"))
    assert problem.status == 429
    assert problem.headers["Retry-After"] == "17"


def test_already_running_and_pending_are_success(client, requests_mock):
    requests_mock.post(
        f"{API}/users/u/server", status_code=400, json={"message": "u is already running"}
    )
    assert client.servers.start("u") is True
    requests_mock.post(f"{API}/users/u/server", status_code=202, text="")
    assert client.servers.start("u") is False


def test_failed_spawn_reports_the_hubs_message(client, requests_mock):
    stream = (
        'data: {"progress": 0, "message": "Server requested"}\n\n'
        'data: {"progress": 100, "failed": true, "message": "Spawn failed: no image"}\n\n'
    )
    requests_mock.get(
        f"{API}/users/u/server/progress",
        text=stream,
        headers={"Content-Type": "text/event-stream"},
    )
    events = []
    problem = problem_of(lambda: client.servers.wait_until_ready("u", on_progress=events.append))
    assert problem.code == "spawn-failed"
    assert "no image" in problem.detail
    assert [e["progress"] for e in events] == [0, 100]


def test_spawn_that_never_ends_times_out(client, requests_mock):
    requests_mock.get(
        f"{API}/users/u/server/progress",
        text='data: {"progress": 10}\n\n',
        headers={"Content-Type": "text/event-stream"},
    )
    requests_mock.get(
        f"{API}/users/u", json={"servers": {"": {"pending": "spawn", "ready": False}}}
    )
    problem = problem_of(lambda: client.servers.wait_until_ready("u"))
    assert (problem.code, problem.status) == ("spawn-timeout", 504)


def test_server_gone_during_upload(client, requests_mock):
    requests_mock.put(
        f"{HUB}/user/u/api/contents/a",
        status_code=302,
        headers={"Location": "/hub/user/u/api/contents/a"},
    )
    problem = problem_of(lambda: client.contents.make_directories("u", "", ("a",)))
    assert problem.code == "server-gone"


def test_every_segment_is_quoted(client, requests_mock):
    matcher = requests_mock.put(rm.ANY, status_code=201, json={})
    client.contents.make_directories("a b", "", ("x y", "ü?#"))
    assert [r.url for r in matcher.request_history] == [
        f"{HUB}/user/a%20b/api/contents/x%20y",
        f"{HUB}/user/a%20b/api/contents/x%20y/%C3%BC%3F%23",
    ]


def test_rename_conflicts_pick_the_next_free_name(client, requests_mock):
    put = requests_mock.put(rm.ANY, status_code=201, json={})
    taken = {"d/nb.ipynb", "d/nb-1.ipynb"}

    def rename(request, context):
        target = request.json()["path"]
        context.status_code = 409 if target in taken else 200
        return {}

    requests_mock.patch(rm.ANY, json=rename)
    assert client.notebooks.write("u", "", ("d",), "nb.ipynb", {"cells": []}) == "nb-2.ipynb"
    assert "launching-" in put.last_request.url


def test_no_free_name_discards_the_temporary_file(client, requests_mock):
    requests_mock.put(rm.ANY, status_code=201, json={})
    requests_mock.patch(rm.ANY, status_code=409, json={})
    delete = requests_mock.delete(rm.ANY, status_code=204)
    problem = problem_of(lambda: client.notebooks.write("u", "", ("d",), "nb.ipynb", {}))
    assert problem.code == "no-free-name"
    assert delete.called_once
