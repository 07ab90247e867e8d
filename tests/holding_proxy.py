"""A recording proxy that can hold the rename of a temporary notebook: the launcher
behind it has written the notebook under its temporary name and waits for the rename,
so a test can stop the launcher at exactly that moment."""

from __future__ import annotations

import os
import signal
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from .recording_proxy import Recorded, RecordingProxy, _Handler


class HoldingProxy(RecordingProxy):
    """While `hold` is set, a rename of a `.launching-` file is recorded, `held` is set,
    and the request waits for `release`; then it is dropped, never forwarded."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hold = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()

    def start(self) -> HoldingProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

            def _forward(self) -> None:
                method, target = self._raw_request_line()
                if proxy.hold.is_set() and method == "PATCH" and ".launching-" in target:
                    proxy._record_held(method, target)
                    proxy.release.wait(60)
                    self.close_connection = True
                    return
                super()._forward()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="holding-proxy", daemon=True
        )
        self._thread.start()
        return self

    def _record_held(self, method: str, target: str) -> None:
        self._record(Recorded(method, target))
        self.held.set()

    def stop(self) -> None:
        self.release.set()
        super().stop()


def worker_pid(master_pid: int, timeout: float = 30.0) -> int:
    """The one gunicorn worker of a master, waiting for it to be (re)started."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if len(pids) == 1:
            return int(pids[0])
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn {master_pid} has no single worker")


def kill_worker(master_pid: int) -> int:
    pid = worker_pid(master_pid)
    os.kill(pid, signal.SIGKILL)
    return pid
