"""SIGTERM to the launcher: it stops accepting, lets the launches in flight finish within
its grace period and exits 0; a launch cut off past that period leaves no file under
the name chosen for it."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from ewatercycle_experiment_launcher.localhub import (
    ROOT,
    LauncherServer,
    free_port,
    start_logged,
    stop_process,
)

from .examples import example
from .holding_proxy import HoldingProxy

SPAWN_TIMEOUT = 40
HUB_TIMEOUT = 2
GRACE = SPAWN_TIMEOUT + 2 * HUB_TIMEOUT  # what `serve` derives from these settings
SPAWN_SECONDS = 2


def serve(hub, workdir: Path, port: int):
    """`ewatercycle-experiment-launcher serve`, as the Dockerfile runs it."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JUPYTERHUB_URL": hub.url,
        "JUPYTERHUB_TOKEN": hub.token,
        "LAUNCHER_SPAWN_TIMEOUT": str(SPAWN_TIMEOUT),
        "LAUNCHER_HUB_TIMEOUT": str(HUB_TIMEOUT),
    }
    command = [sys.executable, "-m", "ewatercycle_experiment_launcher.cli", "serve"]
    return start_logged(
        [*command, "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=workdir,
        env=env,
        logfile=workdir / "launcher.log",
        ready_url=f"http://127.0.0.1:{port}/openapi.json",
    )


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def pending_spawn(hub, user: str) -> bool:
    server = hub.admin("GET", f"/users/{user}").json()["servers"].get("")
    return bool(server and server.get("pending") == "spawn")


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_launch_in_flight_finishes_then_the_launcher_exits_0(
    scripted_hub, make_user, tmp_path_factory
):
    user = make_user(scripted_hub)
    scripted_hub.script(user.name, start_delay=SPAWN_SECONDS)
    port = free_port()
    master = serve(scripted_hub, tmp_path_factory.mktemp("served"), port)
    try:
        arguments = Path(f"/proc/{master.pid}/cmdline").read_bytes().split(b"\0")
        assert arguments[arguments.index(b"--graceful-timeout") + 1] == str(GRACE).encode()
        url = f"http://127.0.0.1:{port}/hello"
        body = example("hello", directory="inflight")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(requests.post, url, json=body, auth=user.auth, timeout=60)
            assert wait_until(lambda: pending_spawn(scripted_hub, user.name), 30)
            master.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            assert wait_until(lambda: refuses(port), 3), "still accepting after SIGTERM"
            assert not future.done(), "the launch ended before the refusal was seen"
            response = future.result()
        assert response.status_code == 200, response.text
        assert response.json()["location"].endswith("/tree/inflight/experiment.ipynb")
        assert (scripted_hub.home(user.name) / "inflight" / "experiment.ipynb").is_file()
        assert master.wait(GRACE) == 0
        assert time.monotonic() - stopping < GRACE
    finally:
        stop_process(master)


def test_launch_cut_off_past_the_grace_period_leaves_no_notebook(
    scripted_hub, make_user, tmp_path_factory
):
    user = make_user(scripted_hub)
    with HoldingProxy(scripted_hub.url) as proxy:
        launcher = LauncherServer(  # gunicorn --graceful-timeout 5
            tmp_path_factory.mktemp("launcher"),
            {"JUPYTERHUB_URL": proxy.url, "JUPYTERHUB_TOKEN": scripted_hub.token},
        ).start()
        try:
            assert launcher.post("/hello", example("hello", directory="warm"), user.auth).ok
            proxy.hold.set()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                body = example("hello", directory="cut")
                future = pool.submit(launcher.post, "/hello", body, user.auth)
                assert proxy.held.wait(30), "the rename never came"
                launcher.process.send_signal(signal.SIGTERM)
                stopping = time.monotonic()
                code = launcher.process.wait(15)
                stopped = time.monotonic() - stopping
                proxy.release.set()
                with pytest.raises(requests.ConnectionError):
                    future.result(30)
        finally:
            launcher.stop()
    assert code == 0
    assert 5 <= stopped < 8, "cut off at the grace period, not before or long after"
    folder = scripted_hub.home(user.name) / "cut"
    assert not (folder / "experiment.ipynb").exists()
    assert len(list(folder.glob("experiment.launching-*.ipynb"))) == 1
