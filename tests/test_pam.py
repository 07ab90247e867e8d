"""The launcher's Basic authentication against the host's real PAM stack.

Each account state gets its own fresh user: a successful login may be remembered for a
short while, so every refusal is checked before that user ever succeeded.
"""

from __future__ import annotations

import base64
import concurrent.futures
import subprocess
import time
from datetime import date
from urllib.parse import quote

import pytest

from ewatercycle_experiment_launcher.localhub import LauncherServer

from .examples import example

# The launcher's failed-login limits guard real deployments; these tests make many failed
# logins from one address on purpose, and check PAM itself, so the limits are set high.
UNLIMITED = {
    "LAUNCHER_FAILED_LOGINS_PER_USER": "10000/minute",
    "LAUNCHER_FAILED_LOGINS_PER_ADDRESS": "10000/minute",
}
UTF8_PASSWORD = "pässwörd-ünïcødé-✓"
GUESSES, GUESSES_ALLOWED = 12, 3  # guesses sent at once, failed logins allowed per user


@pytest.fixture(scope="module")
def pam_launcher(hub, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("pamlauncher"),
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token, **UNLIMITED},
    ).start()
    yield server
    server.stop()


def basic(name: str, password: str) -> dict[str, str]:
    """The Authorization header as a browser sends it: base64 of the UTF-8 bytes."""
    raw = f"{name}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def post(launcher, name: str, password: str, directory: str = "pam"):
    return launcher.post(
        "/hello", example("hello", directory=directory), None, headers=basic(name, password)
    )


def assert_unauthorized(response) -> None:
    assert response.status_code == 401, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    body = response.json()
    assert body["code"] == "unauthorized" and body["status"] == 401, body


def assert_launched_for(hub, response, name: str, directory: str) -> None:
    assert response.status_code == 200, response.text[:500]
    location = response.json()["location"]
    assert location.startswith(f"{hub.url}/user/{quote(name, safe='')}/lab/workspaces/"), location
    assert location.endswith(f"/tree/{directory}/experiment.ipynb"), location
    assert (hub.home(name) / directory / "experiment.ipynb").is_file()


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


# name -> (make the account unusable, make it usable again)
STATES = {
    "expired": (
        lambda n: run("chage", "-E", "0", n),
        lambda n: run("chage", "-E", "-1", n),
    ),
    "locked-usermod": (
        lambda n: run("usermod", "-L", n),
        lambda n: run("usermod", "-U", n),
    ),
    "locked-passwd": (
        lambda n: run("passwd", "-l", n),
        lambda n: run("passwd", "-u", n),
    ),
    "must-change-password": (
        lambda n: run("chage", "-d", "0", n),
        lambda n: run("chage", "-d", date.today().isoformat(), n),
    ),
}


@pytest.mark.parametrize("state", sorted(STATES))
def test_unusable_account_is_refused_and_works_once_usable(hub, pam_launcher, make_user, state):
    user = make_user(hub, prefix="eltpam")  # logs in to the hub while usable
    spoil, restore = STATES[state]
    spoil(user.name)
    try:
        response = post(pam_launcher, user.name, user.password, directory=state)
        assert_unauthorized(response)
        assert user.password not in response.text
        assert not (hub.home(user.name) / state).exists()
    finally:
        restore(user.name)
    response = post(pam_launcher, user.name, user.password, directory=state)
    assert_launched_for(hub, response, user.name, state)


def test_utf8_password(hub, pam_launcher, make_user):
    user = make_user(prefix="eltutf")
    user.password = UTF8_PASSWORD
    subprocess.run(["chpasswd"], input=f"{user.name}:{user.password}\n".encode(), check=True)
    hub.login(user)
    response = post(pam_launcher, user.name, UTF8_PASSWORD, directory="utf8")
    assert_launched_for(hub, response, user.name, "utf8")
    # One character off is another password.
    assert_unauthorized(post(pam_launcher, user.name, UTF8_PASSWORD[:-1] + "✗", "utf8-no"))


def test_capitalised_name_acts_as_the_lower_case_user(hub, pam_launcher, make_user):
    user = make_user(hub, prefix="eltcase")
    for name, directory in ((user.name.capitalize(), "capital"), (user.name.upper(), "upper")):
        response = post(pam_launcher, name, user.password, directory=directory)
        assert_launched_for(hub, response, user.name, directory)
    # One server, one hub user: nothing was created or started under another spelling.
    for spelling in (user.name.capitalize(), user.name.upper()):
        assert hub.admin("GET", f"/users/{quote(spelling, safe='')}").status_code == 404
    model = hub.admin("GET", f"/users/{user.name}").json()
    assert list(model["servers"]) == [""]


def test_wrong_password_is_refused_after_the_fail_delay(hub, pam_launcher, make_user):
    user = make_user(prefix="eltwrong")
    started = time.monotonic()
    response = post(pam_launcher, user.name, user.password + "-wrong")
    elapsed = time.monotonic() - started
    assert_unauthorized(response)
    assert user.password not in response.text
    assert elapsed >= 1.5, f"a failed PAM check returned in {elapsed:.2f} s: no fail delay?"


def test_failing_logins_do_not_hold_up_valid_users(hub, pam_launcher, make_user):
    """8 refused logins sleep in PAM's fail delay while valid users launch: one already
    remembered by the launcher, one checked by PAM for the first time."""
    warm, fresh = make_user(hub, prefix="eltwarm"), make_user(hub, prefix="eltfresh")
    victims = [make_user(prefix="eltvictim") for _ in range(4)]
    for user in (warm, fresh):
        reply = hub.admin("POST", f"/users/{user.name}/server")
        assert reply.status_code in (201, 202, 400), reply.text
    hub.wait_until_no_spawn_pending()
    # `warm` has launched once (the launcher may now remember the login); `fresh` not yet.
    assert_launched_for(hub, post(pam_launcher, warm.name, warm.password, "w0"), warm.name, "w0")

    wrong = [(v.name, v.password + "x") for v in victims] + [
        (f"eltnobody{i}", "whatever") for i in range(4)
    ]

    def failing(credentials):
        began = time.monotonic()
        response = post(pam_launcher, *credentials, directory="never")
        return response, time.monotonic() - began

    def timed(user, directory):
        began = time.monotonic()
        response = post(pam_launcher, user.name, user.password, directory=directory)
        return response, time.monotonic() - began

    with concurrent.futures.ThreadPoolExecutor(len(wrong) + 2) as pool:
        failures = [pool.submit(failing, c) for c in wrong]
        time.sleep(0.7)  # all 8 are now inside PAM's fail delay
        warm_result = timed(warm, "w1")
        fresh_result = timed(fresh, "f1")
        results = [f.result() for f in failures]

    for response, elapsed in results:
        assert_unauthorized(response)
        assert elapsed >= 1.5, elapsed
    for (response, elapsed), user, directory in (
        (warm_result, warm, "w1"),
        (fresh_result, fresh, "f1"),
    ):
        assert_launched_for(hub, response, user.name, directory)
        assert elapsed < 1.5, f"{user.name} waited {elapsed:.2f} s behind failed logins"


def test_concurrent_guesses_do_not_outrun_the_failed_login_limit(hub, tmp_path_factory):
    """A brute force sends its guesses at once: exactly the per-user limit's number of
    them reach PAM (and are refused), every other one gets a 429 without asking PAM."""
    limited = LauncherServer(
        tmp_path_factory.mktemp("limitedlauncher"),
        {
            "JUPYTERHUB_URL": hub.url,
            "JUPYTERHUB_TOKEN": hub.token,
            "LAUNCHER_FAILED_LOGINS_PER_USER": f"{GUESSES_ALLOWED}/minute",
            "LAUNCHER_FAILED_LOGINS_PER_ADDRESS": "10000/minute",
        },
    ).start()

    def guess(i: int):
        began = time.monotonic()
        response = post(limited, "eltnosuchuser", f"guess-{i}")
        return response, time.monotonic() - began

    try:
        with concurrent.futures.ThreadPoolExecutor(GUESSES) as pool:
            results = list(pool.map(guess, range(GUESSES)))
    finally:
        limited.stop()
    statuses = sorted(response.status_code for response, _ in results)
    assert set(statuses) <= {401, 429}, statuses
    refused = statuses.count(401)
    assert refused <= GUESSES_ALLOWED, f"{refused} guesses reached PAM: {statuses}"
    assert refused == GUESSES_ALLOWED, f"the limit stopped guesses too early: {statuses}"
    assert statuses.count(429) == GUESSES - GUESSES_ALLOWED, statuses
    for response, elapsed in results:
        if response.status_code == 401:
            assert_unauthorized(response)
            assert elapsed >= 1.5, f"a refused guess returned in {elapsed:.2f} s: not PAM?"
        else:
            assert response.json()["code"] == "too-many-failed-logins", response.text[:300]
            assert int(response.headers["Retry-After"]) > 0
