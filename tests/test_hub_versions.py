"""Each JupyterHub release of the matrix (conftest's `hub_release`), real and running: the
launcher reads the hub's version from the root of its API, and `check-config` names the
scopes that are right for that version. JupyterHub 6 added `start:servers`; a 5.x hub
does not know it, and refuses to start with it."""

from __future__ import annotations

import os
import subprocess

import pytest

from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.hub import HubClient
from ewatercycle_experiment_launcher.localhub import BIN, ROOT, Hub, free_port
from ewatercycle_experiment_launcher.localhub.releases import HUB5
from ewatercycle_experiment_launcher.problems import LauncherProblem

from . import privileges
from .examples import example

CLI = str(BIN / "ewatercycle-experiment-launcher")
NARROW = ["start:servers", "read:servers", "access:servers"]
SAFE = ["servers", "read:servers", "access:servers"]


def client_for(url: str, token: str) -> HubClient:
    return HubClient(Settings.from_env({"JUPYTERHUB_URL": url, "JUPYTERHUB_TOKEN": token}))


def check_config(hub: Hub, config: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token}
    return subprocess.run(
        [CLI, "check-config", "--hub-config", config],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def hub_config(tmp_path, token: str, scopes: list[str]) -> str:
    path = tmp_path / "jupyterhub_config.py"
    service = {"name": "experiment-launcher", "api_token": token}
    role = {"name": "experiment-launcher", "scopes": scopes, "services": ["experiment-launcher"]}
    path.write_text(
        f"c.JupyterHub.services = [{service!r}]\nc.JupyterHub.load_roles = [{role!r}]\n"
    )
    return str(path)


def test_the_hub_says_its_version_without_a_token(versioned_hub, hub_release):
    assert hub_release.version
    assert client_for(versioned_hub.url, "not-a-token").version() == hub_release.version


def test_users_servers_run_the_hubs_release(
    versioned_hub, versioned_alice, versioned_launcher, hub_release
):
    body = example("hello", directory="release")
    assert versioned_launcher.post("/hello", body, versioned_alice.auth).ok
    response = versioned_hub.contents(versioned_alice.name, "release/experiment.ipynb")
    assert response.status_code == 200, response.text
    assert response.headers["X-JupyterHub-Version"] == hub_release.version


def test_no_hub_no_version():
    assert client_for(f"http://127.0.0.1:{free_port()}", "t" * 32).version() is None


def test_check_config_prints_the_version_and_takes_the_example(versioned_hub, hub_release):
    result = check_config(versioned_hub, str(ROOT / "jupyterhub_config.py.example"))
    assert f"hub version:        {hub_release.version}\n" in result.stdout
    assert "its scopes:         servers, read:servers, access:servers" in result.stdout
    # The example's token is a placeholder; its scopes suit every release.
    assert result.stdout.splitlines()[-2:] == [
        "error: the service's api_token in the hub config is still a placeholder: put the "
        "output of `openssl rand -hex 32` there and in JUPYTERHUB_TOKEN",
        "1 problem(s)",
    ], result.stdout
    assert versioned_hub.token not in result.stdout + result.stderr


@pytest.mark.parametrize("scopes", [NARROW, SAFE], ids=["start:servers", "servers"])
def test_check_config_names_the_start_scope_of_the_hubs_version(
    versioned_hub, hub_release, tmp_path, scopes
):
    result = check_config(versioned_hub, hub_config(tmp_path, versioned_hub.token, scopes))
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    if hub_release.major >= 6 or scopes == SAFE:
        assert (result.returncode, errors) == (0, []), result.stdout
        assert result.stdout.splitlines()[-1] == "ok"
        return
    assert result.returncode == 1
    assert errors == [
        f"error: the service has 'start:servers', which JupyterHub {hub_release.version} does "
        "not know (it came with JupyterHub 6.0): that hub refuses to start; grant 'servers' "
        "instead",
        "error: the service lacks 'servers' (to start users' servers)",
    ], result.stdout


def test_offline_check_config_takes_either_start_scope(tmp_path):
    env = {**os.environ, "JUPYTERHUB_URL": "http://127.0.0.1:9", "JUPYTERHUB_TOKEN": "abc"}
    for scopes in (NARROW, SAFE):
        config = hub_config(tmp_path, "abc", scopes)
        result = subprocess.run(
            [CLI, "check-config", "--offline", "--hub-config", config],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.stdout.splitlines()[-1] == "ok", result.stdout
        assert "hub version" not in result.stdout
    config = hub_config(tmp_path, "abc", ["read:servers", "access:servers"])
    result = subprocess.run(
        [CLI, "check-config", "--offline", "--hub-config", config],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "error: the service lacks 'start:servers' (to start users' servers)" in result.stdout


@pytest.mark.needs_root
def test_a_5x_hub_refuses_to_start_with_start_servers(tmp_path):
    if not HUB5.ready():
        reason = "no JupyterHub 5 environment: `make hubs` makes it"
        if privileges.root_is_required():
            pytest.fail(f"{reason}; CI is set, so it may not be skipped", pytrace=False)
        pytest.skip(reason)
    hub = Hub(tmp_path, release=HUB5, extra_services={"narrow": NARROW})
    with pytest.raises(RuntimeError, match="exited"):
        hub.start()
    hub.stop()
    assert "start:servers" in hub.log_text()


@pytest.mark.parametrize(
    "headers, scope, named",
    [
        ({"X-JupyterHub-Version": "5.5.4"}, "servers", "the 'servers' scope"),
        ({"X-JupyterHub-Version": "6.1.1"}, "start:servers", "the 'start:servers' scope"),
        ({}, "start:servers", "the 'start:servers' scope (JupyterHub 6+) or 'servers'"),
    ],
    ids=["5.5.4", "6.1.1", "no-version"],
)
def test_a_refused_start_names_the_scope_of_the_hubs_version(requests_mock, headers, scope, named):
    # A hub always says its version; a proxy in front of it may drop the header.
    client = client_for("http://hub.invalid:8000", "t" * 32)
    requests_mock.post(
        "http://hub.invalid:8000/hub/api/users/u/server",
        status_code=403,
        json={"status": 403, "message": "Action is not authorized with current scopes"},
        headers=headers,
    )
    with pytest.raises(LauncherProblem) as caught:
        client.servers.start("u")
    problem = caught.value
    assert (problem.code, problem.ext["scope"]) == ("hub-permission", scope)
    assert f"its token needs {named} (see" in problem.detail
