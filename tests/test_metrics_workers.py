"""`/metrics` adds up every worker, however the launcher is started with several of them."""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ewatercycle_experiment_launcher import workers
from ewatercycle_experiment_launcher.config import ConfigError
from ewatercycle_experiment_launcher.localhub import (
    BIN,
    ROOT,
    Hub,
    LauncherServer,
    free_port,
    start_logged,
    stop_process,
    wait_for,
)

from .examples import example

SCRAPES = 10


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def socket_owner(conn: http.client.HTTPConnection, pids: set[int]) -> int | None:
    """Which of `pids` holds the server's end of the open connection `conn`."""
    client_port = conn.sock.getsockname()[1]
    server_port = conn.sock.getpeername()[1]
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
            if local == server_port and remote == client_port:
                inode = fields[9]
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fds if fd.is_symlink()):
            return pid
    return None


def scrape(base: str, master: int) -> tuple[float, int | None]:
    """The hello launches counted, over a new connection, and the worker that answered."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        assert response.status == 200
        pid = socket_owner(conn, children(master))
    finally:
        conn.close()
    value = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "experiment_launcher_launches_total" and sample.labels == {
                "kind": "hello",
                "outcome": "success",
            }:
                value = sample.value
    return value, pid


def wait_for_workers(master: int, count: int, gone: int | None = None) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = children(master)
        if len(pids) == count and gone not in pids:
            return pids
        time.sleep(0.2)
    raise TimeoutError(f"gunicorn {master} does not have {count} workers")


def check_adds_up(
    base: str, master: int, launch: Callable[[], requests.Response], label: str
) -> None:
    """Ten scrapes before and after each launch, and after a worker is killed, agree."""
    pool = wait_for_workers(master, 2)
    answered: set[int | None] = set()
    seen: list[list[float]] = []

    def scrapes(expected: float) -> None:
        values = []
        for _ in range(SCRAPES):
            value, pid = scrape(base, master)
            values.append(value)
            answered.add(pid)
        seen.append(values)
        assert values == [expected] * SCRAPES, (label, seen)

    scrapes(0)
    for launched in (1, 2):
        response = launch()
        assert response.status_code == 200, response.text
        scrapes(launched)
    victim = sorted(pool)[0]
    os.kill(victim, signal.SIGKILL)
    (replacement,) = wait_for_workers(master, 2, gone=victim) - pool
    deadline = time.monotonic() + 60
    while (answer := scrape(base, master)) != (2, replacement):
        assert answer[0] == 2, (label, answer)
        assert time.monotonic() < deadline, f"worker {replacement} never answered"
        time.sleep(0.1)
    scrapes(2)
    response = launch()
    assert response.status_code == 200, response.text
    scrapes(3)
    print(f"{label}: scrapes {seen}; answered by {sorted(p or 0 for p in answered)}")
    assert len(answered - {None, replacement}) >= 2, answered


@pytest.fixture
def no_pool_set(monkeypatch):
    monkeypatch.delenv(workers.METRICS_DIR, raising=False)


def test_plain_gunicorn_as_the_readme_shows(hub, alice, tmp_path, no_pool_set):
    server = LauncherServer(
        tmp_path, {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token}, workers=2
    ).start()
    try:

        def launch() -> requests.Response:
            return server.post("/hello", example("hello", directory="plain"), alice.auth)

        check_adds_up(server.url, server.process.pid, launch, "plain gunicorn")
    finally:
        server.stop()


def test_serve_command(hub, alice, tmp_path, no_pool_set):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JUPYTERHUB_URL": hub.url,
        "JUPYTERHUB_TOKEN": hub.token,
    }
    command = [str(BIN / "ewatercycle-experiment-launcher"), "serve", "--workers", "2"]
    process = start_logged(
        [*command, "--bind", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        logfile=tmp_path / "serve.log",
        ready_url=f"{base}/openapi.json",
    )
    try:

        def launch() -> requests.Response:
            body = example("hello", directory="served")
            return requests.post(f"{base}/hello", json=body, auth=alice.auth, timeout=120)

        check_adds_up(base, process.pid, launch, "serve --workers 2")
    finally:
        stop_process(process)


@pytest.fixture
def managed_hub(tmp_path_factory, no_pool_set):
    hub = Hub(
        tmp_path_factory.mktemp("managedmetrics"),
        example=ROOT / "jupyterhub_config.managed.py.example",
    ).start()
    yield hub
    hub.stop()


def test_hub_managed(managed_hub, make_user):
    user = make_user(managed_hub)
    proxied = f"{managed_hub.url}/services/experiment-launcher"
    wait_for(f"{proxied}/openapi.json", timeout=60)
    (master,) = (
        pid
        for pid in children(managed_hub.process.pid)
        if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    argv = Path(f"/proc/{master}/cmdline").read_bytes().decode().split("\0")
    direct = f"http://{argv[argv.index('--bind') + 1]}/services/experiment-launcher"

    def launch() -> requests.Response:
        body = example("hello", directory="managed-metrics")
        return requests.post(f"{proxied}/hello", json=body, auth=user.auth, timeout=120)

    try:
        check_adds_up(direct, master, launch, "hub-managed")
    finally:
        managed_hub.stop_server(user.name)
        managed_hub.stop()
        # gunicorn's quick stop, on the hub's SIGINT, waits out the graceful timeout
        for pid in {master, *children(master)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_uvicorn_alone_keeps_its_process_metrics(tmp_path, no_pool_set):
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JUPYTERHUB_URL": "http://127.0.0.1:9",
        "JUPYTERHUB_TOKEN": "x" * 64,
    }
    process = start_logged(
        [str(BIN / "uvicorn"), "--port", str(port), "ewatercycle_experiment_launcher.serve:app"],
        cwd=tmp_path,
        env=env,
        logfile=tmp_path / "uvicorn.log",
        ready_url=f"http://127.0.0.1:{port}/openapi.json",
    )
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        stop_process(process)
    assert "process_resident_memory_bytes" in text
    assert "experiment_launcher_spawn_wait_duration_seconds_count" in text


def _folder_of_a_worker(_: int) -> tuple[str, str]:
    folder = workers.shared_folder()
    workers.pool_metrics(folder)
    return str(folder), os.environ[workers.METRICS_DIR]


def test_workers_of_one_master_share_a_new_folder(tmp_path, monkeypatch, no_pool_set):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    base = tmp_path / f"ewatercycle-experiment-launcher-{os.getuid()}"
    base.mkdir(mode=0o700)
    # what earlier masters left: this pid started at another time, and a pid long gone
    stale = [base / f"{os.getpid()}-1", base / "4194304-1"]
    for folder in stale:
        (folder / "metrics").mkdir(parents=True)
        (folder / "metrics" / "counter_4194304.db").write_bytes(b"")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = set(pool.map(_folder_of_a_worker, range(4)))
    (folder, metrics_dir), *others = results
    assert not others, results
    started = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]
    assert folder == str(base / f"{os.getpid()}-{started}")
    assert metrics_dir == f"{folder}/metrics"
    assert not any(path.exists() for path in stale)


def test_a_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(workers, "master_pid", os.getpid)
    base = tmp_path / f"ewatercycle-experiment-launcher-{os.getuid()}"
    base.mkdir()
    base.chmod(0o777)
    with pytest.raises(ConfigError, match="must be a folder of this user's alone"):
        workers.shared_folder()
