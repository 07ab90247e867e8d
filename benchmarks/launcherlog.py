"""The launcher's own view of a launch's duration: the `duration_ms` of its access log."""

from __future__ import annotations

import json

from ewatercycle_experiment_launcher.localhub import LauncherServer


def log_size(server: LauncherServer) -> int:
    return server.logfile.stat().st_size if server.logfile.exists() else 0


def access_durations(server: LauncherServer, offset: int) -> list[float]:
    """duration_ms of the successful POST /hello lines of the access log after `offset`."""
    durations = []
    with open(server.logfile, "rb") as handle:
        handle.seek(offset)
        for raw in handle:
            line = raw.decode("utf-8", "replace")
            start = line.find('{"user"')
            if start < 0:
                continue
            try:
                entry = json.loads(line[start:])
            except ValueError:
                continue
            if entry.get("operation") == "POST /hello" and entry.get("status") == 200:
                durations.append(float(entry["duration_ms"]))
    return durations
