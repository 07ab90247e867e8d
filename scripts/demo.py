"""A local JupyterHub with the launcher registered, plus the launcher itself, for trying
the service on one machine. Ctrl-C stops everything it started and removes its account.

Run as root (it creates a throw-away account that PAM checks): `make demo`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import Hub, LauncherServer, OSUser, free_port  # noqa: E402


def port_or_free(port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def main() -> int:
    if os.geteuid() != 0:
        print("The demo creates a throw-away account checked by PAM: run it as root.")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="launcher-demo-"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    hub = launcher = user = None
    try:
        hub = Hub(workdir / "hub", port=port_or_free(8000))
        hub.workdir.mkdir()
        print("Starting JupyterHub ...", flush=True)
        hub.start()
        user = OSUser.create(prefix="demo")
        hub.login(user)
        (workdir / "launcher").mkdir()
        launcher = LauncherServer(
            workdir / "launcher",
            {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token},
            port=port_or_free(8888),
        )
        print("Starting the launcher ...", flush=True)
        launcher.start()
        body = '{"notebook": {"directory": "demo"}}'
        curl = (
            f"curl -u {shlex.quote(user.name + ':' + user.password)} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(body)} {launcher.url}/hello"
        )
        print("Launching a first notebook ...", flush=True)
        first = launcher.post("/hello", json.loads(body), user.auth)
        first.raise_for_status()
        print(
            f"\nJupyterHub:  {hub.url}/  (log in as {user.name} / {user.password})\n"
            f"Swagger UI:  {launcher.url}/ui/  (Authorize with the same account)\n"
            f"Launch another notebook:\n  {curl}\n"
            "Ctrl-C stops the hub and the launcher and removes the demo account.\n"
            f"Open this in a browser and log in as {user.name} / {user.password}:\n"
            f"{first.json()['location']}",
            flush=True,
        )
        while not stop.wait(1):
            if launcher.process.poll() is not None or hub.process.poll() is not None:
                print("A process of the demo exited; stopping.", file=sys.stderr)
                return 1
        return 0
    finally:
        print("\nStopping ...", flush=True)
        if launcher:
            launcher.stop()
        if hub:
            hub.stop()
        if user:
            user.remove()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
