"""The worker processes of one server, and the folder they share.

gunicorn forks its workers from one master, and started from a plain command line it runs
none of the launcher's code in that master. So a worker finds its siblings through their
parent: the master's pid and start time name a folder that every worker of that master,
and of no other, finds. A master started later gets a new folder, and the first of its
workers removes the folders of masters that are gone. In that folder the workers pool
their Prometheus metrics (unless PROMETHEUS_MULTIPROC_DIR names another) and agree on
which one of them reports a start-up error.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

from .config import ConfigError

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def failed_start_status() -> int:
    """gunicorn's boot-error status in a gunicorn worker, on which the master stops instead
    of starting new workers that would fail alike; 2 elsewhere, as for any bad usage."""
    return 3 if "gunicorn.arbiter" in sys.modules else 2


def master_pid() -> int | None:
    """The process whose workers this one is among; None when this one serves alone.

    Under gunicorn that is the master (this process itself while it preloads the
    application, before it installs its signal handlers); under `uvicorn --workers`, the
    process that spawned the workers.
    """
    if "gunicorn.arbiter" in sys.modules:
        from gunicorn.workers.base import Worker

        owner = getattr(signal.getsignal(signal.SIGUSR1), "__self__", None)
        return owner.ppid if isinstance(owner, Worker) else os.getpid()
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _identity(pid: int) -> str | None:
    """The pid and start time, unique since boot (the pid alone without /proc); None once
    the process is gone."""
    try:
        started = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() or not _alive(pid) else str(pid)
    return f"{pid}-{started}"


def shared_folder() -> Path | None:
    """The folder of this process's master, made if need be; None when serving alone."""
    master = master_pid()
    if master is None:
        return None
    base = Path(tempfile.gettempdir()) / f"ewatercycle-experiment-launcher-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    info = base.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigError(f"{base} must be a folder of this user's alone; set {METRICS_DIR}")
    for old in base.iterdir():
        pid = old.name.split("-")[0]
        if pid.isdigit() and _identity(int(pid)) != old.name:
            shutil.rmtree(old, ignore_errors=True)
    name = _identity(master)
    if name is None:
        return None
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder


def pool_metrics(folder: Path | None) -> None:
    """Has prometheus_client add up the metrics of all workers, past and present.

    It picks how it keeps values when first imported, so this runs before anything
    imports it. The files of workers that died stay, or the totals would go backwards;
    only their live gauges go.
    """
    if os.environ.get(METRICS_DIR):
        chosen = Path(os.environ[METRICS_DIR])
    elif folder is not None:
        chosen = folder / "metrics"
        os.environ[METRICS_DIR] = str(chosen)
    else:
        return
    chosen.mkdir(parents=True, exist_ok=True)
    from prometheus_client import multiprocess

    writers = {path.stem.rsplit("_", 1)[-1] for path in chosen.glob("*.db")}
    for pid in writers:
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(chosen))


def first_to_report(folder: Path | None) -> bool:
    """True in one worker of a master only, so that an error they all meet at start-up is
    printed once, not once per worker and restart."""
    if folder is None:
        return True
    try:
        os.close(os.open(folder / "start-up-error", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
