"""Run the launcher's benchmarks and print one table.

    sudo .venv/bin/python benchmarks/run.py                 # everything, ~4 minutes
    sudo .venv/bin/python benchmarks/run.py --scenarios 1,2 # some goals only
    sudo .venv/bin/python benchmarks/run.py --help

Needs root (it creates OS users for PAM and removes them at the end), the dev venv
(`make setup`) and network access to PyPI once, to set up the original 0.2.0 in
benchmarks/.cache/original-venv. Everything it starts listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench import Options, run  # noqa: E402


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def parse(argv: list[str] | None = None) -> tuple[Options, Path | None]:
    d = Options()
    p = argparse.ArgumentParser(description="Benchmarks of the eWaterCycle experiment launcher")
    p.add_argument(
        "--scenarios",
        default=",".join(d.scenarios),
        help="goals to run, e.g. 1,2 (5 is measured during 3)",
    )
    p.add_argument("--cold-users", type=int, default=d.cold_users)
    p.add_argument("--spawn-delay", type=float, default=d.spawn_delay)
    p.add_argument(
        "--cold-modes",
        default=",".join(d.cold_modes),
        help="pending (hub answers 202), blocking (hub answers 201 after the spawn)",
    )
    p.add_argument(
        "--no-hub-floor",
        action="store_true",
        help="skip timing goal 3's spawns and writes against the hub directly",
    )
    p.add_argument("--clients", type=int, default=d.clients)
    p.add_argument("--throughput-requests", type=int, default=d.throughput_requests)
    p.add_argument("--throughput-seconds", type=float, default=d.throughput_seconds)
    p.add_argument("--rounds", type=int, default=d.rounds)
    p.add_argument("--warm-launches", type=int, default=d.warm_launches)
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument(
        "--other-workers",
        default=",".join(map(str, d.other_workers)),
        help="goal 2 also with these worker counts ('' for none)",
    )
    p.add_argument("--storm-launches", type=int, default=d.storm_launches)
    p.add_argument("--storm-attackers", type=int, default=d.storm_attackers)
    p.add_argument(
        "--servers",
        choices=("standin", "real"),
        default=d.servers,
        help="warm servers for goals 1, 2, 4: the stand-in or jupyterhub-singleuser",
    )
    p.add_argument(
        "--original",
        choices=("auto", "present", "off"),
        default=d.original,
        help="auto: set up the original's venv if missing; present: only if there",
    )
    p.add_argument("--original-venv", type=Path, default=d.original_venv)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--keep-workdir", action="store_true", help="keep logs and hub databases")
    p.add_argument("--json", type=Path, default=None, help="also write the details here")
    p.add_argument("--hub-log-level", default=d.hub_log_level)
    p.add_argument(
        "--launcher-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="EXPERIMENT: extra environment for this project's launchers",
    )
    a = p.parse_args(argv)
    return dataclasses.replace(
        d,
        scenarios=tuple(s.strip() for s in a.scenarios.split(",") if s.strip()),
        cold_users=a.cold_users,
        spawn_delay=a.spawn_delay,
        cold_modes=tuple(m.strip() for m in a.cold_modes.split(",") if m.strip()),
        hub_floor=not a.no_hub_floor,
        clients=a.clients,
        throughput_requests=a.throughput_requests,
        throughput_seconds=a.throughput_seconds,
        rounds=a.rounds,
        warm_launches=a.warm_launches,
        workers=a.workers,
        other_workers=_ints(a.other_workers),
        storm_launches=a.storm_launches,
        storm_attackers=a.storm_attackers,
        servers=a.servers,
        original=a.original,
        original_venv=a.original_venv,
        workdir=a.workdir,
        keep_workdir=a.keep_workdir or a.workdir is not None,
        hub_log_level=a.hub_log_level,
        launcher_env=tuple(tuple(e.split("=", 1)) for e in a.launcher_env),
    ), a.json


def main(argv: list[str] | None = None) -> int:
    options, json_path = parse(argv)

    def terminate(signum, frame):  # clean up (users, processes) on SIGTERM as on Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    report = run(options)
    print(report.table())
    print(f"\n(total {report.details.get('total_seconds', 0):.0f} s)")
    if json_path:
        json_path.write_text(json.dumps(report.details, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
