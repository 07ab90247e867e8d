"""Authentication beyond PAM basics: hub tokens, failed-login limits, which methods are
on, CORS, and what the access log says — against the real hub and real PAM."""

from __future__ import annotations

import concurrent.futures
import json

import pytest
import requests

from ewatercycle_experiment_launcher.localhub import LauncherServer

from .examples import example


@pytest.fixture(scope="module")
def token_of(hub):
    """Issues a real JupyterHub API token for a user, as the hub's Token page does."""

    def issue(user) -> str:
        response = hub.admin("POST", f"/users/{user.name}/tokens", json={"note": "test"})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    return issue


def start(hub, tmp_path_factory, **env) -> LauncherServer:
    return LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token, **env},
    ).start()


@pytest.mark.parametrize("scheme", ["token", "Bearer"])
def test_users_own_hub_token_is_accepted(hub, alice, launcher, token_of, scheme):
    token = token_of(alice)
    response = launcher.post(
        "/hello",
        example("hello", directory=f"by-{scheme.lower()}"),
        None,
        headers={"Authorization": f"{scheme} {token}"},
    )
    assert response.status_code == 200, response.text
    assert f"/user/{alice.name}/" in response.json()["location"]
    assert (hub.home(alice.name) / f"by-{scheme.lower()}" / "experiment.ipynb").exists()


def test_unknown_token_is_refused(launcher):
    response = launcher.post(
        "/hello", example("hello"), None, headers={"Authorization": "token " + "0" * 32}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "0" * 32 not in response.text


def test_the_launchers_own_service_token_is_no_user(hub, launcher):
    response = launcher.post(
        "/hello", example("hello"), None, headers={"Authorization": f"token {hub.token}"}
    )
    assert response.status_code == 401
    assert hub.token not in response.text


def test_failed_logins_are_limited_per_user(hub, tmp_path_factory, make_user):
    user = make_user(hub)
    server = start(
        hub,
        tmp_path_factory,
        LAUNCHER_FAILED_LOGINS_PER_USER="2/minute",
        LAUNCHER_LOGIN_CACHE_SECONDS="0",
    )
    try:
        wrong = (user.name, "wrong-password")
        statuses = [server.post("/hello", example("hello"), wrong).status_code for _ in range(2)]
        limited = server.post("/hello", example("hello"), user.auth)
    finally:
        server.stop()
    assert statuses == [401, 401]
    assert limited.status_code == 429
    assert limited.json()["code"] == "too-many-failed-logins"
    assert 0 < int(limited.headers["Retry-After"]) <= 61


def test_failed_logins_are_limited_per_address(hub, tmp_path_factory, make_user):
    users = [make_user(hub) for _ in range(3)]
    server = start(hub, tmp_path_factory, LAUNCHER_FAILED_LOGINS_PER_ADDRESS="2/minute")
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            failures = list(
                pool.map(
                    lambda u: server.post("/hello", example("hello"), (u.name, "nope")),
                    users[:2],
                )
            )
        third = server.post("/hello", example("hello"), (users[2].name, "nope"))
    finally:
        server.stop()
    assert [r.status_code for r in failures] == [401, 401]
    assert third.status_code == 429 and "Retry-After" in third.headers


def test_basic_auth_can_be_switched_off(hub, alice, tmp_path_factory, token_of):
    server = start(hub, tmp_path_factory, LAUNCHER_AUTH_METHODS="token")
    try:
        basic = server.post("/hello", example("hello"), alice.auth)
        token = server.post(
            "/hello",
            example("hello", directory="token-only"),
            None,
            headers={"Authorization": f"token {token_of(alice)}"},
        )
    finally:
        server.stop()
    assert basic.status_code == 401
    assert "not enabled" in basic.json()["detail"]
    assert token.status_code == 200, token.text


def test_cors_only_for_listed_origins(hub, alice, tmp_path_factory):
    server = start(hub, tmp_path_factory, LAUNCHER_CORS_ORIGINS="http://frontend.test")
    try:

        def preflight(origin):
            return requests.options(
                f"{server.url}/hello",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
                timeout=10,
            )

        allowed = preflight("http://frontend.test")
        refused = preflight("http://elsewhere.test")
        actual = server.post(
            "/hello",
            example("hello", directory="cors"),
            alice.auth,
            headers={"Origin": "http://frontend.test"},
        )
    finally:
        server.stop()
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://frontend.test"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert actual.headers["Access-Control-Allow-Origin"] == "http://frontend.test"


def test_no_cors_by_default(launcher):
    response = requests.options(
        f"{launcher.url}/hello",
        headers={"Origin": "http://frontend.test", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def test_access_log_has_user_operation_status_duration_only(hub, alice, tmp_path_factory):
    server = start(hub, tmp_path_factory)
    try:
        server.post("/hello", example("hello", directory="logged"), alice.auth)
        server.post("/hello", example("hello"), (alice.name, "secret-wrong-pw"))
    finally:
        server.stop()
    log = server.log_text()
    lines = [
        json.loads(line.split("access: ", 1)[1])
        for line in log.splitlines()
        if "ewatercycle_experiment_launcher.access: " in line
    ]
    posts = [entry for entry in lines if entry["operation"] == "POST /hello"]
    assert [(e["user"], e["status"]) for e in posts] == [(alice.name, 200), (None, 401)]
    assert all(set(e) == {"user", "operation", "status", "duration_ms"} for e in lines)
    assert alice.password not in log and "secret-wrong-pw" not in log
    assert hub.token not in log


def test_health_and_metrics(hub, alice, launcher, tmp_path_factory):
    health = requests.get(f"{launcher.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "hub": "reachable", "token": "valid"}

    def launched() -> float:
        text = requests.get(f"{launcher.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith("experiment_launcher_launches_total{") and (
                'kind="hello"' in line and 'outcome="success"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = launched()
    assert launcher.post("/hello", example("hello", directory="metered"), alice.auth).ok
    assert launched() == before + 1
    text = requests.get(f"{launcher.url}/metrics", timeout=10).text
    assert "experiment_launcher_launch_duration_seconds_bucket" in text
    assert "experiment_launcher_spawn_wait_duration_seconds" in text

    bad = start(hub, tmp_path_factory, JUPYTERHUB_TOKEN="f" * 64)
    try:
        rejected = requests.get(f"{bad.url}/health", timeout=10)
    finally:
        bad.stop()
    assert rejected.status_code == 503 and rejected.json()["token"] == "rejected"
