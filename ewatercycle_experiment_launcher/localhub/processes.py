"""Free ports, waiting for a server to answer, and starting and stopping server processes
so that nothing outlives a run."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    url: str,
    timeout: float = 60.0,
    ok: Iterable[int] = (200,),
    process: subprocess.Popen | None = None,
) -> None:
    """Wait until `url` answers with one of `ok`; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was up")
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


def start_logged(
    command: list[str], *, cwd: Path, env: dict[str, str], logfile: Path, ready_url: str
) -> subprocess.Popen:
    """Start a server in a session of its own, its output in `logfile`; wait until it
    answers at `ready_url`."""
    with open(logfile, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(ready_url, timeout=60, process=process)
    return process


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL the whole process group, so nothing outlives a run."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(5)


def processes_under(folder: Path) -> list[int]:
    """The processes of a run whose files live in `folder`: it is in their command line or
    environment (the users' servers and their kernels have their home there). A shell that
    merely looks around in the folder is left alone."""
    mark = re.compile(re.escape(bytes(folder)) + rb"[/\0]")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    text = cmdline.read() + b"\0" + environ.read() + b"\0"
        except OSError:
            continue
        if mark.search(text):
            found.append(int(entry))
    return found


def stop_processes_under(folder: Path, grace: float = 20.0) -> None:
    """SIGTERM first (a hub then stops its proxy and servers too), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for pid in processes_under(folder):
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while processes_under(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
