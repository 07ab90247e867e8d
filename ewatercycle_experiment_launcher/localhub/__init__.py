"""The local JupyterHub that the demo, the tests and the benchmarks run.

Real parts on 127.0.0.1, from a source checkout: OS accounts that PAM checks
(`accounts`), a JupyterHub with its proxy that registers the launcher exactly as
`jupyterhub_config.py.example` does (`hub`), a spawner that starts slowly or fails on
request (`spawners`), the launcher served by gunicorn as in production (`service`), and
the process plumbing they share (`processes`). Not used by the service itself.
"""

from __future__ import annotations

from .accounts import OSUser
from .checkout import BIN, ROOT
from .hub import EXAMPLE_CONFIG, HARNESS_SERVICE, LAUNCHER_SERVICE, Hub
from .processes import (
    free_port,
    processes_under,
    start_logged,
    stop_process,
    stop_processes_under,
    wait_for,
)
from .redis import RedisServer
from .service import LauncherServer

__all__ = [
    "BIN",
    "EXAMPLE_CONFIG",
    "HARNESS_SERVICE",
    "LAUNCHER_SERVICE",
    "ROOT",
    "Hub",
    "LauncherServer",
    "OSUser",
    "RedisServer",
    "free_port",
    "processes_under",
    "start_logged",
    "stop_process",
    "stop_processes_under",
    "wait_for",
]
