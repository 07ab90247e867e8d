"""`create_app` in this process: what it serves, where, to whom, and on how many threads."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from starlette.requests import Request

from ewatercycle_experiment_launcher import auth
from ewatercycle_experiment_launcher.handlers import operations
from ewatercycle_experiment_launcher.state import app_state
from ewatercycle_experiment_launcher.threads import HandlerThreads

from .inprocess import HEALTHY, HELLO, StubHub, basic, make_app, preview

SPEC = Path(__file__).parents[1] / "ewatercycle_experiment_launcher" / "openapi.yaml"
FRONTEND = "https://frontend.example.org"


def operation_ids(spec: dict) -> list[str]:
    return [op["operationId"] for path in spec["paths"].values() for op in path.values()]


def test_spec_is_served_at_openapi_json():
    with make_app().test_client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert sorted(operation_ids(served)) == sorted(operations.HANDLERS)
    assert served["info"] == yaml.safe_load(SPEC.read_text())["info"]
    assert sorted(served["paths"]) == [
        "/assessment",
        "/bmi",
        "/health",
        "/hello",
        "/metrics",
        "/opendap",
        "/threeclickscience",
    ]


def test_every_operation_id_is_short_unique_and_served_by_its_handler():
    ids = operation_ids(yaml.safe_load(SPEC.read_text()))
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(operations.HANDLERS)
    assert all(identifier.isalnum() for identifier in ids)
    with pytest.raises(ValueError, match="launchNothing"):
        operations.resolve("launchNothing")


def test_swagger_ui_is_served():
    with make_app().test_client() as client:
        response = client.get("/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text


def test_base_path_is_honoured():
    with make_app(BASE_PATH="/launcher/").test_client() as client:
        assert client.get("/launcher/openapi.json").status_code == 200
        assert client.get("/launcher/ui/").status_code == 200
        assert client.get("/openapi.json").status_code == 404
        assert client.post("/launcher/hello", json=HELLO).status_code == 401
        assert client.post("/hello", json=HELLO).status_code == 404


def test_launch_without_credentials_is_401_with_a_basic_challenge():
    with make_app().test_client() as client:
        response = client.post("/hello", json=HELLO)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


def test_health_and_metrics_need_no_credentials():
    with make_app().test_client() as client:
        health = client.get("/health")
        metrics = client.get("/metrics")
    assert (health.status_code, health.json()) == (200, HEALTHY)
    assert metrics.status_code == 200
    assert "experiment_launcher_launches_total" in metrics.text


@pytest.mark.parametrize(
    ("configured", "origin", "allowed"),
    [
        (FRONTEND, FRONTEND, True),
        (FRONTEND, "https://elsewhere.example", False),
        ("", FRONTEND, False),
    ],
)
def test_cors_answers_only_listed_origins(configured, origin, allowed):
    with make_app(LAUNCHER_CORS_ORIGINS=configured).test_client() as client:
        preflight = client.options(
            "/hello",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        simple = client.get("/health", headers={"Origin": origin})
    if allowed:
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert simple.headers["access-control-allow-origin"] == origin
    else:
        assert "access-control-allow-origin" not in preflight.headers
        assert "access-control-allow-origin" not in simple.headers


def test_two_apps_do_not_share_authenticators(monkeypatch):
    pam_says = {"ok": True}
    monkeypatch.setattr(auth, "pam_check", lambda *_args: (pam_says["ok"], 0.0))
    first = make_app(StubHub({"first-token": "alice"}))
    second = make_app(StubHub({"second-token": "bob"}))
    alice = basic("alice", "correct horse")
    with first.test_client() as one, second.test_client() as two:
        assert preview(one, alice).status_code == 200
        pam_says["ok"] = False
        # The first app remembers the login; the second has a cache of its own.
        assert preview(one, alice).status_code == 200
        assert preview(two, alice).status_code == 401
        assert preview(one, {"Authorization": "token first-token"}).status_code == 200
        assert preview(two, {"Authorization": "token first-token"}).status_code == 401
        assert preview(two, {"Authorization": "token second-token"}).status_code == 200


def test_access_log_names_the_authenticated_user(caplog):
    app = make_app(StubHub({"a-token": "alice"}))
    with caplog.at_level(logging.INFO, logger="ewatercycle_experiment_launcher.access"):
        with app.test_client() as client:
            preview(client, {"Authorization": "Bearer a-token"})
            client.post("/hello", json=HELLO)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith(".access")]
    assert lines == [
        {
            "user": "alice",
            "operation": "POST /hello",
            "status": 200,
            "duration_ms": lines[0]["duration_ms"],
        },
        {
            "user": None,
            "operation": "POST /hello",
            "status": 401,
            "duration_ms": lines[1]["duration_ms"],
        },
    ]


def concurrent_health(threads: int, parties: int, timeout: float) -> tuple[list[int], int]:
    """`parties` requests at once whose handlers wait for each other; the statuses and
    how many handler threads ran them."""
    meet = threading.Barrier(parties, timeout=timeout)
    seen: set[int] = set()

    def health() -> dict:
        seen.add(threading.get_ident())
        meet.wait()
        return dict(HEALTHY)

    app = make_app(StubHub(health_check=health), LAUNCHER_THREADS=str(threads))
    with app.test_client(raise_server_exceptions=False) as client:
        with ThreadPoolExecutor(parties) as pool:
            statuses = list(pool.map(lambda _: client.get("/health").status_code, range(parties)))
    return statuses, len(seen)


def test_requests_run_on_more_than_ten_handler_threads_at_once():
    statuses, threads = concurrent_health(threads=128, parties=24, timeout=20)
    assert statuses == [200] * 24
    assert threads == 24


def test_the_thread_setting_is_the_limit():
    statuses, threads = concurrent_health(threads=3, parties=4, timeout=1)
    assert threads == 3
    assert 200 not in statuses


def test_handler_threads_refuse_a_framework_they_do_not_know():
    async def not_flask(scope, receive, send):
        raise AssertionError("never called")

    with pytest.raises(RuntimeError, match="connexion version"):
        HandlerThreads(not_flask, workers=4)


def test_a_request_outside_an_app_has_no_state():
    request = Request({"type": "http", "headers": []})
    with pytest.raises(RuntimeError, match="create_app"):
        app_state(request)
