"""A client generated from the spec with openapi-python-client launches end to end and
reads the launcher's problem documents."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from .examples import example
from .test_launch_real_hub import LOCATION, notebook_at

SPEC = Path(__file__).parents[1] / "ewatercycle_experiment_launcher" / "openapi.yaml"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "experiment_launcher_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client package, generated into a temporary folder and imported from there."""
    workdir = tmp_path_factory.mktemp("generated-client")
    config = workdir / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    subprocess.run(
        [GENERATOR, "generate", "--path", SPEC, "--config", config, "--meta", "none"]
        + ["--output-path", workdir / PACKAGE],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_generated_client_has_readable_operation_names(generated):
    launch = importlib.import_module(f"{PACKAGE}.api.launch")
    service = importlib.import_module(f"{PACKAGE}.api.service")
    modules = {p.stem for p in Path(launch.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules == {
        "launch_hello",
        "launch_opendap",
        "launch_three_click_science",
        "launch_bmi",
        "launch_assessment",
    }
    assert {p.stem for p in Path(service.__file__).parent.glob("*.py")} == {
        "__init__",
        "health",
        "metrics",
    }


def test_generated_client_launches_and_reads_problems(hub, alice, launcher, generated):
    from experiment_launcher_client import Client
    from experiment_launcher_client.api.launch import launch_hello
    from experiment_launcher_client.api.service import health
    from experiment_launcher_client.models import HelloRequest, Location, Problem

    client = Client(base_url=launcher.url, timeout=120, httpx_args={"auth": alice.auth})
    assert health.sync(client=client).status.value == "ok"

    launched = launch_hello.sync(
        client=client, body=HelloRequest.from_dict(example("hello", directory="generated"))
    )
    assert isinstance(launched, Location)
    match = LOCATION.match(launched.location)
    assert match, launched.location
    assert (match["base"], match["user"]) == (hub.url, alice.name)
    path, _ = notebook_at(hub, launched.location)
    assert path == "generated/experiment.ipynb"

    refused = launch_hello.sync_detailed(
        client=client, body=HelloRequest.from_dict(example("hello", directory="../outside"))
    )
    assert refused.status_code == 400
    problem = refused.parsed
    assert isinstance(problem, Problem)
    assert (problem.status, problem.code) == (400, "invalid-path")
    assert problem.type_ == "urn:ewatercycle:experiment-launcher:problem:invalid-path"
    assert problem.additional_properties["field"] == "notebook.directory"
