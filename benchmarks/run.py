"""Run the launcher's benchmarks and print one table.

    sudo .venv/bin/python benchmarks/run.py                          # all, ~2.5 minutes
    sudo .venv/bin/python benchmarks/run.py warm_launch throughput   # some scenarios
    sudo .venv/bin/python benchmarks/run.py soak                     # the soak, ~12 minutes
    sudo .venv/bin/python benchmarks/run.py soak --soak-minutes 30   # a longer soak
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

from benchmarks.options import KNOWN_SCENARIOS, SCENARIOS, Options  # noqa: E402
from benchmarks.scenarios import run  # noqa: E402

HELP = {
    "cold_users": "cold_launches: launches for as many different users, at once",
    "spawn_delay": "cold_launches: the spawner's start delay, seconds",
    "cold_modes": "pending (hub answers 202), blocking (hub answers 201 after the spawn)",
    "clients": "throughput: concurrent clients, each its own user",
    "other_workers": "throughput also with these worker counts ('' for none)",
    "servers": "warm servers: standin (the stand-in server) or real (jupyterhub-singleuser)",
    "original": "auto: set up the original's venv if missing; present: only if there; off",
    "hub_log_level": "the hubs' log level (INFO logs every request with its duration)",
    "soak_minutes": "soak: minutes of load, the faults in the middle",
}
CHOICES = {"servers": ("standin", "real"), "original": ("auto", "present", "off")}
SKIPPED = {"scenarios", "log", "launcher_env", "variants", "keep_workdir", "hub_alone"}


def _list(kind: type):
    return lambda text: tuple(kind(x.strip()) for x in text.split(",") if x.strip())


def _add_option(p: argparse.ArgumentParser, f: dataclasses.Field, default) -> None:
    flag = "--" + f.name.replace("_", "-")
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        p.add_argument(flag, type=_list(kind), default=default, help=HELP.get(f.name))
    else:
        kind = type(default) if default is not None else Path
        kind = Path if isinstance(default, Path) else kind
        p.add_argument(
            flag, type=kind, default=default, choices=CHOICES.get(f.name), help=HELP.get(f.name)
        )


def parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(description="Benchmarks of the eWaterCycle experiment launcher")
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"some of {', '.join(KNOWN_SCENARIOS)} (default: {', '.join(SCENARIOS)}, "
        "in this order; soak only when named)",
    )
    for f in dataclasses.fields(Options):
        if f.name not in SKIPPED:
            _add_option(p, f, getattr(d, f.name))
    p.add_argument(
        "--no-hub-alone",
        action="store_true",
        help="skip timing cold_launches' spawns and writes against the hub directly",
    )
    p.add_argument("--keep-workdir", action="store_true", help="keep logs and hub databases")
    p.add_argument("--json", type=Path, default=None, help="also write the details here")
    p.add_argument(
        "--launcher-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="EXPERIMENT: extra environment for this project's launchers",
    )
    return p


def parse(argv: list[str] | None = None) -> tuple[Options, Path | None]:
    p = parser()
    a = p.parse_args(argv)
    unknown = [name for name in a.scenarios if name not in KNOWN_SCENARIOS]
    if unknown:
        choices = ", ".join(KNOWN_SCENARIOS)
        p.error(f"unknown scenario {', '.join(unknown)}; choose from {choices}")
    values = {
        f.name: getattr(a, f.name) for f in dataclasses.fields(Options) if f.name not in SKIPPED
    }
    options = Options(
        **values,
        scenarios=tuple(a.scenarios) or SCENARIOS,
        hub_alone=not a.no_hub_alone,
        keep_workdir=a.keep_workdir or a.workdir is not None,
        launcher_env=tuple(tuple(e.split("=", 1)) for e in a.launcher_env),
    )
    return options, a.json


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
    for failure in report.broken:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if report.broken else 0


if __name__ == "__main__":
    sys.exit(main())
