"""The launcher as JupyterHub runs it, as a package, and on the command line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import requests

from ewatercycle_experiment_launcher.localhub import (
    BIN,
    ROOT,
    Hub,
    LauncherServer,
    free_port,
    stop_process,
    wait_for,
)

from .examples import example
from .test_notebook_steps import build_wheel

CLI = str(BIN / "ewatercycle-experiment-launcher")


@pytest.fixture(scope="module")
def managed_hub(tmp_path_factory):
    hub = Hub(
        tmp_path_factory.mktemp("managedhub"),
        example=ROOT / "jupyterhub_config.managed.py.example",
    ).start()
    yield hub
    hub.stop()


def test_hub_managed_service(managed_hub, make_user):
    user = make_user(managed_hub)
    base = f"{managed_hub.url}/services/experiment-launcher"
    wait_for(f"{base}/openapi.json", timeout=60)
    ui = requests.get(f"{base}/ui/", timeout=10)
    assert ui.status_code == 200 and "swagger-ui" in ui.text
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    assert spec["servers"][0]["url"] == "/services/experiment-launcher"
    response = requests.post(
        f"{base}/hello", json=example("hello", directory="managed"), auth=user.auth, timeout=120
    )
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    assert location.startswith(f"{managed_hub.url}/user/{user.name}/lab/workspaces/")
    assert (managed_hub.home(user.name) / "managed" / "experiment.ipynb").exists()
    assert requests.get(f"{base}/health", timeout=10).json()["status"] == "ok"


def test_preview_touches_no_hub(launcher, make_user):
    # The user never logged in to the hub: any call to it would end in a 409.
    user = make_user()
    body = example("assessment", directory="preview", filename="mine.ipynb")
    response = launcher.post(
        "/assessment", body, user.auth, headers={"Accept": "application/x-ipynb+json"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/x-ipynb+json")
    assert "mine.ipynb" in response.headers["Content-Disposition"]
    nb = nbformat.reads(response.text, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"


def run_cli(*args, input=None, env=None, cwd=None):
    return subprocess.run(
        [CLI, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_render_writes_the_notebook_a_launch_would(tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps(example("bmi")))
    out = tmp_path / "out.ipynb"
    result = run_cli("render", "bmi", str(body), "-o", str(out))
    assert result.returncode == 0, result.stderr
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_render_refuses_an_invalid_body():
    result = run_cli("render", "hello", "-", input='{"notebook": {}, "extra": 1}')
    assert result.returncode == 2
    assert "invalid hello request" in result.stderr


@pytest.mark.parametrize(
    "config", ["jupyterhub_config.py.example", "jupyterhub_config.managed.py.example"]
)
def test_check_config_against_the_examples(hub, config):
    env = {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token}
    result = run_cli("check-config", "--hub-config", str(ROOT / config), env=env)
    # The examples carry a placeholder token; everything else must be in order.
    assert result.stdout.splitlines()[-2:] == [
        "error: the service's api_token in the hub config is still a placeholder: put the "
        "output of `openssl rand -hex 32` there and in JUPYTERHUB_TOKEN",
        "1 problem(s)",
    ], result.stdout
    assert "its scopes:         servers, read:servers, access:servers" in result.stdout
    assert "hub:                reachable, token valid" in result.stdout
    assert hub.token not in result.stdout + result.stderr


def test_check_config_finds_a_superuser_service(tmp_path):
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(
        "c.JupyterHub.services = [{'name': 'experiment-launcher', 'api_token': 'abc', "
        "'admin': True}]\n"
    )
    env = {"JUPYTERHUB_URL": "http://127.0.0.1:9", "JUPYTERHUB_TOKEN": "abc"}
    result = run_cli("check-config", "--offline", "--hub-config", str(config), env=env)
    assert result.returncode == 1
    assert "'admin': True" in result.stdout
    assert "lacks 'start:servers'" in result.stdout


def test_built_wheel_carries_the_spec_and_serves(tmp_path, hub):
    wheel = build_wheel(tmp_path)
    assert "ewatercycle_experiment_launcher/openapi.yaml" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "JUPYTERHUB_URL": hub.url,
        "JUPYTERHUB_TOKEN": hub.token,
    }
    probe = subprocess.run(
        [sys.executable, "-c", "import ewatercycle_experiment_launcher as p; print(p.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.startswith(str(target)), probe
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ewatercycle_experiment_launcher.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/openapi.json", timeout=60, process=process)
        spec = requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).json()
        assert "/assessment" in spec["paths"]
    finally:
        stop_process(process)


def test_serve_command_stops_with_one_line_on_bad_config():
    result = run_cli("serve", env={"JUPYTERHUB_URL": "", "JUPYTERHUB_TOKEN": ""})
    assert result.returncode == 2
    assert re.fullmatch(
        r"ewatercycle-experiment-launcher: JUPYTERHUB_TOKEN is not set.*\n", result.stderr
    )


def test_base_path_moves_api_and_ui(hub, alice, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("based"),
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token, "BASE_PATH": "/launcher"},
    ).start()
    try:
        assert server.url.endswith("/launcher")
        assert requests.get(f"{server.url}/ui/", timeout=10).status_code == 200
        response = server.post("/hello", example("hello", directory="based"), alice.auth)
        root = server.url.rsplit("/launcher", 1)[0]
        elsewhere = requests.get(f"{root}/openapi.json", timeout=10)
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    assert elsewhere.status_code == 404
    assert Path(hub.home(alice.name) / "based" / "experiment.ipynb").exists()


def launcher_processes(ancestor: int) -> set[int]:
    """The gunicorn master and workers among `ancestor`'s descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [ancestor]
    while todo:
        for child in children.get(todo.pop(), []):
            if alive(child) and b"gunicorn" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_managed_launcher_stops_with_its_hub(tmp_path):
    """The hub stops the services it runs with SIGINT: an idle launcher is gone at once."""
    hub = Hub(tmp_path, example=ROOT / "jupyterhub_config.managed.py.example").start()
    launcher: set[int] = set()
    try:
        base = f"{hub.url}/services/experiment-launcher"
        wait_for(f"{base}/openapi.json", timeout=60)
        assert requests.get(f"{base}/health", timeout=10).status_code == 200
        launcher = launcher_processes(hub.process.pid)
        assert len(launcher) == 3  # the master and its two workers
        assert all(os.getpgid(pid) != hub.process.pid for pid in launcher)
    finally:
        hub.stop()
    deadline = time.monotonic() + 10
    left = [pid for pid in launcher if alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in launcher if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
