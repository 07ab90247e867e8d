"""A local JupyterHub with the launcher registered, plus the launcher itself, for trying
the service on one machine.

Run as root (it creates a throw-away account that PAM checks): `make demo`.

However the demo ends (Ctrl-C, its terminal closed, SIGTERM, its output pipe gone, a
failure while starting, even SIGKILL), nothing it started outlives it. A guard process,
in a session of its own, waits on a pipe that only the demo holds; when the demo ends
the kernel closes that pipe, and the guard stops every process of the run (the hub, its
proxy, the users' servers and kernels, the launcher: the run's folder is in their
command line or environment), removes the account and the folder.
The account is created locked and unlocked only just before the hub's login, and
carries the marker `MARKER` in its GECOS field. Each run is recorded in `RUN_DIR`
(root's only); should the guard be killed too, the next demo, or
`scripts/demo.py --clean`, undoes the runs whose demo and guard are both gone and
removes marked accounts that no live run owns.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ewatercycle_experiment_launcher.localhub import (  # noqa: E402
    Hub,
    LauncherServer,
    OSUser,
    free_port,
    stop_processes_under,
)

BODY = '{"notebook": {"directory": "demo"}}'
RUN_DIR = Path("/run/ewatercycle-experiment-launcher-demo")
MARKER = "ewatercycle-experiment-launcher demo"
PREFIX = "demo"
WORKDIR_PREFIX = "ewatercycle-launcher-demo-"
RUN_VARIABLE = "EWATERCYCLE_LAUNCHER_DEMO_RUN"
# SIGPIPE stays ignored, as Python sets it: a write to a pipe nobody reads fails with
# EPIPE, which `say` absorbs, and `output_gone` then ends the demo.
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
output_lost = False


class Stop(Exception):
    """A signal asked the demo to stop."""


def on_signal(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def say(text: str, stream: TextIO | None = None) -> None:
    """Print to a terminal or pipe that may be gone: the demo must still stop cleanly."""
    global output_lost
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except OSError:
        output_lost = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def output_gone(timeout: float = 0.0) -> bool:
    """True once the terminal hung up or nobody reads the pipe; waits up to `timeout`."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), 0)  # hang-up and error are reported anyway
    return output_lost or bool(poller.poll(int(timeout * 1000)))


@contextmanager
def signals_held() -> Iterator[None]:
    """Account tools killed half-way can leave /etc/passwd locked: signals wait."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)


def start_time(pid: int) -> str | None:
    """When the process started, to tell it from a later one with its pid; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


@dataclass
class Run:
    """One demo: its account, its folder and the processes (demo, guard) that own them."""

    name: str
    workdir: Path
    pids: dict[int, str] = field(default_factory=dict)

    @property
    def record(self) -> Path:
        return RUN_DIR / f"{self.name}.json"

    def add(self, pid: int) -> None:
        self.pids[pid] = start_time(pid) or ""
        RUN_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self.record.with_suffix(".partial")
        partial.write_text(
            json.dumps({"name": self.name, "workdir": str(self.workdir), "pids": self.pids})
        )
        os.replace(partial, self.record)

    @classmethod
    def load(cls, path: Path) -> Run | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        pids = {int(pid): started for pid, started in data["pids"].items()}
        return cls(data["name"], Path(data["workdir"]), pids)

    def alive(self) -> bool:
        return any(start_time(pid) == started for pid, started in self.pids.items())


def account_tool(name: str, *command: str, stdin: str = "", check: bool = False) -> None:
    """Run a shadow tool on a demo account, and on no other account."""
    with suppress(KeyError):
        if pwd.getpwnam(name).pw_gecos == MARKER:
            with signals_held():
                subprocess.run(command, input=stdin, text=True, capture_output=True, check=check)


def create_account(name: str) -> OSUser:
    """A locked account with the demo's marker; `unlock` it just before the hub's login."""
    password = "pw-" + secrets.token_urlsafe(12)
    with signals_held():
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/bin/false", "--comment", MARKER, name],
            check=True,
            capture_output=True,
        )
    account_tool(name, "chpasswd", stdin=f"{name}:{password}\n", check=True)
    account_tool(name, "usermod", "--lock", name, check=True)
    return OSUser(name, password)


def clean_up(run: Run) -> None:
    """The one place where a run is undone, by its guard or by a later demo."""
    account_tool(run.name, "usermod", "--lock", run.name)
    stop_processes_under(run.workdir)
    account_tool(run.name, "userdel", "--force", run.name)
    if run.workdir.name.startswith(WORKDIR_PREFIX):
        shutil.rmtree(run.workdir, ignore_errors=True)
    run.record.unlink(missing_ok=True)


def clean_leftovers() -> None:
    """Undo the runs whose demo and guard are both gone, and remove the demo accounts
    that no live run owns (their record may be gone with a reboot)."""
    for path in sorted(RUN_DIR.glob("*.json")):
        run = Run.load(path)
        if run is not None and not run.alive():
            say(f"Cleaning up after a demo that was killed: {run.name} ...")
            clean_up(run)
    for entry in pwd.getpwall():
        if entry.pw_gecos == MARKER and entry.pw_name.startswith(PREFIX):
            run = Run.load(RUN_DIR / f"{entry.pw_name}.json")
            if run is None or not run.alive():
                say(f"Removing the account of a demo that was killed: {entry.pw_name}")
                account_tool(entry.pw_name, "userdel", "--force", entry.pw_name)


def guard(name: str) -> int:
    """Wait until the demo ends, however it ends, then undo its run."""
    for sig in STOPPING_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    sys.stdin.buffer.read()
    run = Run.load(RUN_DIR / f"{name}.json")
    if run is not None:
        clean_up(run)
    return 0


def start_guard(run: Run) -> tuple[subprocess.Popen, int]:
    """The guard reads a pipe whose other end only the demo holds: the kernel closes it
    when the demo ends, SIGKILL included. Its own session keeps terminal signals away."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--guard", run.name],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(read_end)
    run.add(process.pid)
    return process, write_end


def port_or_free(port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def instructions(hub: Hub, launcher: LauncherServer, user: OSUser, location: str) -> str:
    """What to do next; the link to the first notebook comes last, to be pasted."""
    curl = (
        f"curl -u {shlex.quote(user.name + ':' + user.password)} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(BODY)} {launcher.url}/hello"
    )
    return (
        f"\nJupyterHub:  {hub.url}/  (log in as {user.name} / {user.password})\n"
        f"Swagger UI:  {launcher.url}/ui/  (Authorize with the same account)\n"
        f"Launch another notebook:\n  {curl}\n"
        "Ctrl-C (or closing this terminal) stops the hub and the launcher and removes "
        "the demo account.\n"
        f"Open this in a browser and log in as {user.name} / {user.password}:\n"
        f"{location}"
    )


def show_logs(workdir: Path) -> None:
    """The end of the hub's and the launcher's logs, which go with the folder; without
    the hub's tokens, which a traceback of its config file quotes."""
    for pattern in ("hub/jupyterhub.log", "launcher/launcher-*.log"):
        for log in workdir.glob(pattern):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            tail = re.sub(r"[0-9a-f]{32,}", "[token]", tail)
            say(f"--- the end of {log.name}:\n{tail}", sys.stderr)


def serve(run: Run) -> int:
    say(f"Demo account {run.name}, files in {run.workdir}; both go when the demo stops.")
    user = create_account(run.name)
    hub = Hub(run.workdir / "hub", port=port_or_free(8000))
    hub.workdir.mkdir()
    say("Starting JupyterHub ...")
    os.environ[RUN_VARIABLE] = str(run.workdir)
    hub.start()
    account_tool(run.name, "usermod", "--unlock", run.name)
    hub.login(user)
    (run.workdir / "launcher").mkdir()
    launcher = LauncherServer(
        run.workdir / "launcher",
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token},
        port=port_or_free(8888),
    )
    say("Starting the launcher ...")
    launcher.start()
    say("Launching a first notebook ...")
    first = launcher.post("/hello", json.loads(BODY), user.auth)
    first.raise_for_status()
    say(instructions(hub, launcher, user, first.json()["location"]))
    while not output_gone(timeout=1.0):
        if hub.process.poll() is not None or launcher.process.poll() is not None:
            say("A process of the demo exited; stopping.", sys.stderr)
            return 1
    return 0


def demo() -> int:
    with signals_held():
        run = Run(PREFIX + secrets.token_hex(4), Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX)))
        run.add(os.getpid())
        guard_process, guard_pipe = start_guard(run)
    try:
        return serve(run)
    except Stop:
        return 0
    except Exception:
        show_logs(run.workdir)
        say(traceback.format_exc(), sys.stderr)
        return 1
    finally:
        for sig in STOPPING_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        say("\nStopping the hub and the launcher, removing the account and the files ...")
        os.close(guard_pipe)
        guard_process.wait()
        if run.record.exists():  # the guard was killed before it finished
            clean_up(run)
        say("Stopped.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clean", action="store_true", help="only undo killed demos")
    parser.add_argument("--guard", metavar="RUN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("The demo creates a throw-away account checked by PAM: run it as root.")
        return 1
    if args.guard:
        return guard(args.guard)
    for sig in STOPPING_SIGNALS:
        signal.signal(sig, on_signal)
    try:
        clean_leftovers()
        return 0 if args.clean else demo()
    except Stop:
        return 0


if __name__ == "__main__":
    sys.exit(main())
