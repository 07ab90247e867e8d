"""The README's demo command: it ends with a line to paste, and however it ends (Ctrl-C,
its terminal closed, SIGTERM, its output pipe gone, a failure while starting, SIGKILL)
it leaves no process, no account and no files behind."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest
import requests

from ewatercycle_experiment_launcher.localhub import ROOT

pytestmark = pytest.mark.needs_root

SCRIPT = ROOT / "scripts" / "demo.py"
RUN_DIR = Path("/run/ewatercycle-experiment-launcher-demo")

RUN_LINE = re.compile(r"Demo account (\S+), files in (\S+);")
LINK = re.compile(r"^(http\S*/lab/workspaces/\S*)$", re.M)


def start_time(pid: int) -> str | None:
    """Tells a process from a later one with its pid; None once it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def processes_in(workdir: Path) -> list[str]:
    """Live processes with the run's folder in their command line, working directory or
    environment, found by this test's own scan of /proc."""
    mark = f"{workdir}/".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            seen = cmdline + (proc / "environ").read_bytes()
            seen += os.readlink(proc / "cwd").encode() + b"/"
        except (OSError, ValueError):
            continue
        if mark in seen and start_time(int(proc.name)) is not None:
            found.append(proc.name + " " + cmdline.replace(b"\0", b" ").decode()[:120])
    return found


def account(name: str) -> str | None:
    """`passwd -S` status letter of the account (L locked, P usable), None if absent."""
    if subprocess.run(["getent", "passwd", name], capture_output=True).returncode != 0:
        return None
    return subprocess.run(["passwd", "-S", name], capture_output=True, text=True).stdout.split()[1]


class Demo:
    """`make demo` as a subprocess in a session of its own, its output on a pipe, or on a
    terminal (a pty it has as controlling terminal, so that closing it hangs it up)."""

    def __init__(self, terminal: bool = False, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, str(SCRIPT)]
        env = {**os.environ, **(env or {})}
        if terminal:
            self.fd, tty = pty.openpty()
            self.process = subprocess.Popen(
                ["setsid", "--ctty", *command],
                stdin=tty,
                stdout=tty,
                stderr=tty,
                cwd=ROOT,
                env=env,
            )
            os.close(tty)
        else:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
                env=env,
            )
            self.fd = self.process.stdout.fileno()
        self.output = ""
        self.started: dict[int, str] = {}

    def watch(self) -> None:
        for pid in descendants(self.process.pid) - set(self.started):
            started = start_time(pid)
            if started is not None:
                self.started[pid] = started

    def read_until(self, pattern: re.Pattern, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while not pattern.search(self.output):
            assert time.monotonic() < deadline, self.output
            if select.select([self.fd], [], [], 0.5)[0]:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # a terminal whose every other end is closed
                    chunk = b""
                assert chunk, f"the demo ended early:\n{self.output}"
                self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
            self.watch()
        return pattern.search(self.output)

    @property
    def run(self) -> tuple[str, Path]:
        name, workdir = self.read_until(RUN_LINE).groups()
        return name, Path(workdir)

    def guard(self) -> int:
        for pid, started in self.started.items():
            with suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"--guard" in command and start_time(pid) == started:
                    return pid
        raise AssertionError("the demo has no guard process")

    def assert_nothing_left(self) -> None:
        name, workdir = self.run
        alive = [pid for pid, started in self.started.items() if start_time(pid) == started]
        assert alive == [], alive
        assert processes_in(workdir) == []
        assert account(name) is None, f"demo account {name} was not removed"
        assert subprocess.run(["getent", "group", name], capture_output=True).returncode == 2
        assert not workdir.exists()
        assert not (RUN_DIR / f"{name}.json").exists()


def wait_gone(pid: int, started: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while start_time(pid) == started:
        assert time.monotonic() < deadline, f"{pid} still runs"
        time.sleep(0.2)


def open_first_notebook(demo: Demo) -> None:
    """The printed link works: after logging in to the hub as printed, it opens JupyterLab."""
    location = demo.read_until(LINK).group(1)
    line = next(line for line in demo.output.splitlines() if line.startswith("JupyterHub:"))
    hub_url = line.split()[1].rstrip("/")
    name, password = line.split("log in as ")[1].rstrip(")").split(" / ")
    assert f"/user/{name}/lab/workspaces/" in location
    session = requests.Session()
    page = session.get(f"{hub_url}/hub/login", timeout=10)
    assert page.status_code == 200
    session.post(
        f"{hub_url}/hub/login",
        data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf")},
        timeout=30,
    )
    opened = session.get(location, timeout=60)
    assert opened.status_code == 200 and "JupyterLab" in opened.text


def ctrl_c(demo: Demo) -> None:
    os.killpg(demo.process.pid, signal.SIGINT)


def close_terminal(demo: Demo) -> None:
    os.close(demo.fd)


def sigterm(demo: Demo) -> None:
    demo.process.terminate()


def close_pipe_then_ctrl_c(demo: Demo) -> None:
    """`make demo | tee demo.log`, then Ctrl-C: tee is gone before the demo's last prints."""
    demo.process.stdout.close()
    ctrl_c(demo)


def close_pipe(demo: Demo) -> None:
    """`make demo | head`: nobody reads the output any more."""
    demo.process.stdout.close()


def kill_guard_then_ctrl_c(demo: Demo) -> None:
    """Without its guard, the demo undoes its run itself."""
    guard = demo.guard()
    os.kill(guard, signal.SIGKILL)
    wait_gone(guard, demo.started[guard], timeout=10)
    ctrl_c(demo)


ENDINGS = {
    "ctrl-c": (ctrl_c, False),
    "terminal-closed": (close_terminal, True),
    "sigterm": (sigterm, False),
    "pipe-closed-then-ctrl-c": (close_pipe_then_ctrl_c, False),
    "pipe-closed": (close_pipe, False),
    "guard-killed-then-ctrl-c": (kill_guard_then_ctrl_c, False),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_demo_prints_a_working_link_and_stops_clean(ending):
    end, terminal = ENDINGS[ending]
    demo = Demo(terminal=terminal)
    onlooker = None
    try:
        name, workdir = demo.run
        demo.read_until(LINK)
        assert account(name) == "P"
        if ending == "ctrl-c":
            open_first_notebook(demo)
            # Someone looking around in the demo's folder is none of its processes.
            onlooker = subprocess.Popen(["sleep", "300"], cwd=workdir, start_new_session=True)
        demo.watch()
        end(demo)
        demo.process.wait(60)
        assert onlooker is None or onlooker.poll() is None
    finally:
        demo.process.kill()
        if onlooker:
            onlooker.kill()
    assert demo.process.returncode == 0, demo.output
    if ending in ("ctrl-c", "sigterm", "guard-killed-then-ctrl-c"):
        demo.read_until(re.compile(r"\nStopping the hub[^\n]*\nStopped\.\n"))
    demo.assert_nothing_left()


def test_a_killed_demo_is_undone_by_its_guard():
    demo = Demo()
    try:
        demo.read_until(LINK)
        guard = demo.guard()
        demo.process.kill()
        demo.process.wait(10)
        wait_gone(guard, demo.started[guard])
    finally:
        demo.process.kill()
    demo.assert_nothing_left()


def test_the_next_demo_undoes_a_demo_killed_with_its_guard():
    """Killed while the hub starts, the demo leaves its account locked, and processes;
    the next demo removes them first, and then, failing to start, leaves nothing either."""
    killed = failing = Demo()
    try:
        name, workdir = killed.run
        killed.read_until(re.compile("Starting JupyterHub"))
        deadline = time.monotonic() + 60
        while not any("jupyterhub -f" in p for p in processes_in(workdir)):
            assert time.monotonic() < deadline, killed.output
            time.sleep(0.1)
        killed.watch()
        guard = killed.guard()
        os.kill(guard, signal.SIGKILL)
        killed.process.kill()
        killed.process.wait(10)
        wait_gone(guard, killed.started[guard], timeout=10)
        assert account(name) == "L"
        assert processes_in(workdir) and workdir.exists()
        # With passwords off, the launcher refuses the first launch: start-up fails.
        failing = Demo(env={"LAUNCHER_AUTH_METHODS": "token"})
        failing.read_until(RUN_LINE)
        assert f"Cleaning up after a demo that was killed: {name}" in failing.output
        killed.assert_nothing_left()
        assert failing.process.wait(120) == 1
        failing.read_until(re.compile(r"first notebook[\s\S]*401 Client Error[\s\S]*Stopped\."))
    finally:
        for demo in (killed, failing):
            demo.process.kill()
    failing.assert_nothing_left()
