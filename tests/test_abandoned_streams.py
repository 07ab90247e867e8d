"""A browser that closes a launch's event stream halfway does not cancel the launch, and
the launcher is left with no more threads or connections to the hub than before."""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from ewatercycle_experiment_launcher.localhub import LauncherServer

from .examples import example
from .holding_proxy import worker_pid

SPAWN_SECONDS = 4


@pytest.fixture(scope="module")
def slow_launcher(scripted_hub, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {"JUPYTERHUB_URL": scripted_hub.url, "JUPYTERHUB_TOKEN": scripted_hub.token},
    ).start()
    yield server
    server.stop()


def open_stream(launcher, user, directory: str) -> http.client.HTTPConnection:
    """A streamed launch, as a browser's EventSource-like fetch makes it."""
    parts = urlsplit(launcher.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    credentials = base64.b64encode(f"{user.name}:{user.password}".encode()).decode()
    connection.request(
        "POST",
        "/hello",
        body=json.dumps(example("hello", directory=directory)),
        headers={
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Authorization": f"Basic {credentials}",
        },
    )
    return connection


def events(response: http.client.HTTPResponse):
    while line := response.readline():
        if line.startswith(b"event: "):
            yield line[len(b"event: ") :].strip().decode()


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def hub_connections(pid: int, port: int) -> int:
    """Sockets of the process connected to the hub's port, in any state."""
    fds = f"/proc/{pid}/fd"
    inodes = set()
    for fd in os.listdir(fds):
        try:
            link = os.readlink(f"{fds}/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    count += 1
    return count


def level(pid: int, port: int) -> tuple[int, int]:
    return threads(pid), hub_connections(pid, port)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(what)


def test_closed_stream_neither_cancels_the_launch_nor_leaves_anything(
    scripted_hub, slow_launcher, make_user
):
    user = make_user(scripted_hub)
    scripted_hub.script(user.name, start_delay=SPAWN_SECONDS)
    # A whole streamed launch first, so that the pools hold what a launch needs.
    warm = open_stream(slow_launcher, user, "warm")
    assert list(events(warm.getresponse()))[-1] == "launched"
    warm.close()
    scripted_hub.stop_server(user.name)
    pid = worker_pid(slow_launcher.process.pid)
    time.sleep(1)
    before = level(pid, scripted_hub.port)

    stream = open_stream(slow_launcher, user, "abandoned")
    response = stream.getresponse()
    assert response.status == 200
    assert next(events(response)) == "progress"
    during = level(pid, scripted_hub.port)
    stream.close()

    assert during[0] > before[0], "the launch runs in a thread of its own"
    wait_for(
        lambda: scripted_hub.contents(user.name, "abandoned/experiment.ipynb").status_code == 200,
        90,
        "the notebook of the abandoned launch was never written",
    )
    after = wait_for(
        lambda: (
            (lv := level(pid, scripted_hub.port))[0] <= before[0] and lv[1] <= before[1] and lv
        ),
        15,
        f"threads and hub connections did not return to {before}",
    )
    print(f"threads, hub connections: before {before}, during {during}, after {after}")
