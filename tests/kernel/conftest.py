"""Fixtures for executing generated notebooks in the kernel environment.

The kernel environment (.venv-kernel, made by scripts/kernel-env.sh) holds the
libraries the notebooks import; these tests drive it through subprocesses and
skip when it does not exist.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL_VENV = Path(os.environ.get("KERNEL_VENV", ROOT / ".venv-kernel"))
KERNEL_PYTHON = KERNEL_VENV / "bin" / "python"
EXECUTE = Path(__file__).with_name("execute.py")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kernel: executes notebooks in the kernel environment (.venv-kernel)"
    )


def pytest_collection_modifyitems(config, items):
    if KERNEL_PYTHON.exists():
        return
    if os.environ.get("LAUNCHER_REQUIRE_KERNEL") == "1":
        raise pytest.UsageError(
            f"no kernel environment at {KERNEL_VENV}; create it with scripts/kernel-env.sh"
        )
    skip = pytest.mark.skip(
        reason=f"no kernel environment at {KERNEL_VENV}; create it with scripts/kernel-env.sh"
    )
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kernel_env(tmp_path_factory):
    """Environment of the kernel: its venv first on PATH (grpc4bmi starts
    run-bmi-server from PATH) and a private HOME so no user config leaks in."""
    home = tmp_path_factory.mktemp("home")
    return {
        **os.environ,
        "PATH": str(KERNEL_VENV / "bin") + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(home),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


@pytest.fixture(scope="session")
def run_kernel_python(kernel_env):
    """Runs a python snippet with the kernel environment's interpreter."""

    def run(code: str, cwd: Path) -> str:
        result = subprocess.run(
            [str(KERNEL_PYTHON), "-c", code],
            cwd=cwd,
            env=kernel_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run


@pytest.fixture(scope="session")
def execute(kernel_env):
    """Executes a notebook in workdir and returns it with its outputs."""

    def run(nb: nbformat.NotebookNode, workdir: Path, timeout: int = 120, env=None):
        path = workdir / "experiment.ipynb"
        nbformat.write(nb, path)
        result = subprocess.run(
            [str(KERNEL_PYTHON), str(EXECUTE), str(path), str(workdir), str(timeout)],
            cwd=workdir,
            env={**kernel_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout * 3,
        )
        assert result.returncode == 0, result.stderr
        return nbformat.read(path, as_version=4)

    return run


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def file_server(tmp_path):
    """Serves a fresh folder over HTTP on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()
