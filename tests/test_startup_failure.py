"""A setting that is missing stops the whole service with one line, however it is started."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from ewatercycle_experiment_launcher.localhub import BIN, ROOT, free_port

LINE = "ewatercycle-experiment-launcher: JUPYTERHUB_TOKEN is not set"


def dockerfile(instruction: str) -> list[str]:
    """The arguments of each of the Dockerfile's top-level `instruction`s."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    prefix = f"{instruction} "
    return [line[len(prefix) :].strip() for line in text.splitlines() if line.startswith(prefix)]


def image_environment() -> dict[str, str]:
    words = " ".join(dockerfile("ENV")).split()
    return dict(word.split("=", 1) for word in words)


def without_token(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    return {
        **env,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "JUPYTERHUB_URL": "http://127.0.0.1:9",
        **extra,
    }


def readme_gunicorn() -> list[str]:
    port = free_port()
    return [
        str(BIN / "gunicorn"),
        "-k",
        "ewatercycle_experiment_launcher.gunicornworker.UvicornWorker",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "360",
        "--keep-alive",
        "75",
        "--no-control-socket",
        "ewatercycle_experiment_launcher.serve:app",
    ]


WAYS = {
    "plain gunicorn": lambda: (readme_gunicorn(), {}),
    "serve": lambda: (
        [str(BIN / "ewatercycle-experiment-launcher"), "serve", "--workers", "2"],
        {},
    ),
    "container": lambda: (json.loads(dockerfile("CMD")[-1]), image_environment()),
}


@pytest.mark.parametrize("way", WAYS)
def test_a_missing_token_stops_the_service_once(way, tmp_path):
    command, extra = WAYS[way]()
    started = time.monotonic()
    result = subprocess.run(
        command,
        env=without_token(**extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0, result.stderr
    assert result.stderr.count(LINE) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert elapsed < 15, elapsed
