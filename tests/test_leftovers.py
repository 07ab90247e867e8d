"""A launcher killed between writing the temporary notebook and renaming it leaves the
temporary file; a later launch into that folder removes it once it is older than
LAUNCHER_LEFTOVER_AGE by the server's clock, and never a younger one."""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import time
from pathlib import Path

import nbformat
import pytest
import requests

from ewatercycle_experiment_launcher.localhub import LauncherServer

from .examples import example
from .holding_proxy import HoldingProxy, kill_worker, worker_pid

AGE = 3.0
FOLDER = "crash"


@pytest.fixture(scope="module")
def proxy(hub):
    with HoldingProxy(hub.url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def proxied_launcher(hub, proxy, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {
            "JUPYTERHUB_URL": proxy.url,
            "JUPYTERHUB_TOKEN": hub.token,
            "LAUNCHER_LEFTOVER_AGE": str(AGE),
        },
    ).start()
    yield server
    server.stop()


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.launching-*.ipynb"))


def older_than(path: Path, seconds: float) -> None:
    """Wait until the file is older than `seconds` by the clock that stamped it."""
    while time.time() - path.stat().st_mtime <= seconds:
        time.sleep(0.1)


def listings(proxy, user: str) -> int:
    """How many times the launcher listed the folder (a look at it has ?content=0)."""
    path = f"/user/{user}/api/contents/{FOLDER}"
    return sum(1 for r in proxy.snapshot() if r.method == "GET" and r.target == path)


def kill_between_write_and_rename(proxy, launcher, user) -> None:
    proxy.hold.set()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            launcher.post, "/hello", example("hello", directory=FOLDER), user.auth
        )
        try:
            assert proxy.held.wait(60), "the rename never came"
            kill_worker(launcher.process.pid)
        finally:
            proxy.hold.clear()
            proxy.release.set()
        with pytest.raises(requests.ConnectionError):
            future.result(60)


def put_temporary(hub, user: str) -> Path:
    """A temporary notebook as a launch in flight on another replica has just written."""
    name = f"experiment.launching-{secrets.token_hex(8)}.ipynb"
    response = requests.put(
        f"{hub.url}/user/{user}/api/contents/{FOLDER}/{name}",
        headers={"Authorization": f"token {hub.harness_token}"},
        json={"type": "notebook", "format": "json", "content": nbformat.v4.new_notebook()},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return hub.home(user) / FOLDER / name


def test_killed_launch_leaves_a_temporary_notebook_only_old_ones_are_removed(
    hub, proxy, proxied_launcher, make_user
):
    user = make_user(hub)
    folder = hub.home(user.name) / FOLDER
    kill_between_write_and_rename(proxy, proxied_launcher, user)

    [left] = temporaries(folder)
    assert json.loads(left.read_text())["cells"], "the leftover is the whole notebook"
    assert not (folder / "experiment.ipynb").exists()

    worker_pid(proxied_launcher.process.pid)  # gunicorn has started a new worker
    older_than(left, AGE + 0.5)
    young = put_temporary(hub, user.name)
    response = proxied_launcher.post("/hello", example("hello", directory=FOLDER), user.auth)
    assert response.status_code == 200, response.text
    assert response.json()["location"].endswith(f"/tree/{FOLDER}/experiment.ipynb")
    assert temporaries(folder) == [young], "only the old leftover is removed"
    assert listings(proxy, user.name) == 1

    # A launch right after does not look again: the young one is not due yet.
    assert proxied_launcher.post("/hello", example("hello", directory=FOLDER), user.auth).ok
    assert listings(proxy, user.name) == 1
    assert temporaries(folder) == [young]

    # Once it is old enough, the next launch looks again and removes it.
    older_than(young, AGE + 1.5)
    assert proxied_launcher.post("/hello", example("hello", directory=FOLDER), user.auth).ok
    assert listings(proxy, user.name) == 2
    assert temporaries(folder) == []
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "experiment-1.ipynb",
        "experiment-2.ipynb",
        "experiment.ipynb",
    ]
