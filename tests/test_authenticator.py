"""The authenticator in this process: its caches, failed-login limits, hub tokens and the
methods a deployment turns on. PAM is stood in for; its real use is tested in test_pam."""

from __future__ import annotations

import hashlib
import threading

import pytest

from ewatercycle_experiment_launcher import auth

from .inprocess import StubHub, basic, make_app, preview

PASSWORD = "correct horse"


class FakePam:
    """Stands in for `pam_check`: accepts only `PASSWORD`, and counts the checks."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, name: str, password: str, service: str = "login") -> tuple[bool, float]:
        with self._lock:
            self.checks.append(name)
        return password == PASSWORD, 0.0


@pytest.fixture
def pam(monkeypatch) -> FakePam:
    fake = FakePam()
    monkeypatch.setattr(auth, "pam_check", fake)
    return fake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth.time, "monotonic", clock)
    return clock


def test_cache_keeps_only_keyed_hashes_of_the_credentials():
    cache = auth._ExpiringCache(60)
    cache.put("alice", "alice", PASSWORD)
    assert cache.get("alice", PASSWORD) == "alice"
    assert cache.get("alice", "another") is None
    (key,) = cache._entries
    assert len(key) == 32
    assert PASSWORD.encode() not in key
    assert key != hashlib.sha256(f"alice\0{PASSWORD}".encode()).digest()
    other = auth._ExpiringCache(60)
    other.put("alice", "alice", PASSWORD)
    assert set(other._entries) != {key}
    assert PASSWORD not in repr(vars(cache))


def test_cache_forgets_after_its_seconds(clock):
    cache = auth._ExpiringCache(60)
    cache.put("alice", "token-a")
    clock.now += 59
    assert cache.get("token-a") == "alice"
    clock.now += 2
    assert cache.get("token-a") is None


def test_cache_of_zero_seconds_keeps_nothing():
    cache = auth._ExpiringCache(0)
    cache.put("alice", "token-a")
    assert cache.get("token-a") is None
    assert cache._entries == {}


def test_cache_size_is_limited(monkeypatch, clock):
    monkeypatch.setattr(auth, "CACHE_LIMIT", 3)
    cache = auth._ExpiringCache(60)
    cache.put("old", "t0")
    clock.now += 30
    cache.put("a", "t1")
    cache.put("b", "t2")
    clock.now += 31  # "old" has expired, "a" and "b" have not
    cache.put("c", "t3")
    assert [cache.get(t) for t in ("t0", "t1", "t2", "t3")] == [None, "a", "b", "c"]
    cache.put("d", "t4")  # full of live entries: start afresh
    assert [cache.get(t) for t in ("t1", "t2", "t3", "t4")] == [None, None, None, "d"]


def test_a_verified_login_is_remembered(pam):
    with make_app().test_client() as client:
        assert preview(client, basic("Alice", PASSWORD)).status_code == 200
        assert preview(client, basic("alice", PASSWORD)).status_code == 200
        assert preview(client, basic("alice", "wrong")).status_code == 401
    assert pam.checks == ["alice", "alice"]


def test_failed_logins_are_limited_per_user(pam):
    app = make_app(
        LAUNCHER_FAILED_LOGINS_PER_USER="2/minute", LAUNCHER_FAILED_LOGINS_PER_ADDRESS="100/minute"
    )
    with app.test_client() as client:
        statuses = [preview(client, basic("alice", f"guess{i}")).status_code for i in range(2)]
        refused = preview(client, basic("alice", PASSWORD))
        other_user = preview(client, basic("bob", PASSWORD))
    assert statuses == [401, 401]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too-many-failed-logins"
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert other_user.status_code == 200
    assert pam.checks == ["alice", "alice", "bob"]


def test_failed_logins_are_limited_per_address(pam):
    app = make_app(
        LAUNCHER_FAILED_LOGINS_PER_USER="100/minute", LAUNCHER_FAILED_LOGINS_PER_ADDRESS="2/minute"
    )
    with (
        app.test_client(client=("192.0.2.1", 40000)) as guesser,
        app.test_client(client=("192.0.2.2", 40000)) as other,
    ):
        statuses = [preview(guesser, basic(f"user{i}", "guess")).status_code for i in range(2)]
        refused = preview(guesser, basic("carol", PASSWORD))
        elsewhere = preview(other, basic("carol", PASSWORD))
    assert statuses == [401, 401]
    assert refused.status_code == 429
    assert refused.json()["code"] == "too-many-failed-logins"
    assert "address" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 200
    assert pam.checks == ["user0", "user1", "carol"]


@pytest.mark.parametrize("scheme", ["token", "Bearer"])
def test_hub_token_is_identified_by_the_hub_once(scheme):
    hub = StubHub({"alice-token": "alice"})
    with make_app(hub).test_client() as client:
        first = preview(client, {"Authorization": f"{scheme} alice-token"})
        again = preview(client, {"Authorization": f"{scheme} alice-token"})
        unknown = preview(client, {"Authorization": f"{scheme} nobody-token"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"].startswith("Basic")
    assert hub.asked == ["alice-token", "nobody-token"]


def test_token_cache_of_zero_seconds_asks_the_hub_every_time():
    hub = StubHub({"alice-token": "alice"})
    with make_app(hub, LAUNCHER_TOKEN_CACHE_SECONDS="0").test_client() as client:
        for _ in range(3):
            assert preview(client, {"Authorization": "token alice-token"}).status_code == 200
    assert hub.asked == ["alice-token"] * 3


def test_only_token_authentication(pam):
    hub = StubHub({"alice-token": "alice"})
    with make_app(hub, LAUNCHER_AUTH_METHODS="token").test_client() as client:
        refused = preview(client, basic("alice", PASSWORD))
        accepted = preview(client, {"Authorization": "token alice-token"})
    assert refused.status_code == 401
    assert "not enabled" in refused.json()["detail"]
    assert accepted.status_code == 200
    assert pam.checks == []


def test_only_pam_authentication(pam):
    hub = StubHub({"alice-token": "alice"})
    with make_app(hub, LAUNCHER_AUTH_METHODS="pam").test_client() as client:
        refused = preview(client, {"Authorization": "Bearer alice-token"})
        accepted = preview(client, basic("alice", PASSWORD))
    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert hub.asked == []
    assert pam.checks == ["alice"]
