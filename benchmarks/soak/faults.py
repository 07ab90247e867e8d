"""The faults in the middle of the soak, one after the other, each once: the hub is
restarted (SIGTERM, then started again on the same ports and database, as an upgrade
does), one launcher worker is killed with SIGKILL, and the launcher is stopped with
SIGTERM (the launches in flight finish) and started again on the same port.

They begin at 35 %, 45 % and 55 % of the soak's length, or a second after the previous
one recovered, whichever is later; the soak's "during" phase is from the first fault to
the last recovery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .records import FaultTimes
from .site import SoakSite

AT = (0.35, 0.45, 0.55)


def inflict(
    site: SoakSite,
    clock: Callable[[], float],
    length: float,
    halt: threading.Event,
    reconnect: Callable[[], None],
) -> FaultTimes:
    f = FaultTimes()

    def wait_until(fraction: float) -> None:
        halt.wait(max(0.0, max(fraction * length, clock() + 1.0) - clock()))

    wait_until(AT[0])
    site.log("soak: restarting the hub")
    servers = site.warm_server_pids()
    f.hub_stop = clock()
    site.restart_hub()
    f.hub_up = clock()
    f.servers_kept = (len(servers & site.warm_server_pids()), len(servers))
    wait_until(AT[1])
    site.log("soak: SIGKILL to one launcher worker")
    f.worker_kill = clock()
    reconnect()
    f.killed_pid = site.kill_worker()
    f.worker_back = clock()
    wait_until(AT[2])
    site.log("soak: SIGTERM to the launcher, then starting it again")
    f.launcher_term = clock()
    reconnect()
    f.launcher_exit_code = site.stop_launcher()
    f.launcher_exit = clock()
    site.start_launcher()
    f.launcher_up = clock()
    return f
