from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ewatercycle_experiment_launcher.config import ConfigError, Settings

from .harness import ROOT

TOKEN = "0123456789abcdef" * 4


def test_origin_url_serves_calls_and_links():
    settings = Settings.from_env({"JUPYTERHUB_URL": "http://hub:8000/", "JUPYTERHUB_TOKEN": TOKEN})
    assert settings.hub_url == "http://hub:8000"
    assert settings.hub_api_url == "http://hub:8000/hub/api"
    assert settings.public_url == "http://hub:8000"
    assert settings.base_path == "/"


def test_bare_path_links_from_origin_but_calls_an_internal_url():
    settings = Settings.from_env(
        {
            "JUPYTERHUB_URL": "/jupyter",
            "JUPYTERHUB_INTERNAL_URL": "http://127.0.0.1:8000/jupyter",
            "JUPYTERHUB_TOKEN": TOKEN,
        }
    )
    assert settings.public_url == "/jupyter"
    assert settings.hub_api_url == "http://127.0.0.1:8000/jupyter/hub/api"


def test_bare_path_without_internal_url_is_refused():
    with pytest.raises(ConfigError, match="JUPYTERHUB_INTERNAL_URL"):
        Settings.from_env({"JUPYTERHUB_URL": "/jupyter", "JUPYTERHUB_TOKEN": TOKEN})


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"JUPYTERHUB_TOKEN": TOKEN}, "JUPYTERHUB_URL is not set"),
        ({"JUPYTERHUB_URL": "http://hub"}, "JUPYTERHUB_TOKEN is not set"),
        ({"JUPYTERHUB_URL": "ftp://hub", "JUPYTERHUB_TOKEN": TOKEN}, "http(s) URL"),
        (
            {
                "JUPYTERHUB_URL": "http://hub",
                "JUPYTERHUB_TOKEN": TOKEN,
                "LAUNCHER_SPAWN_TIMEOUT": "x",
            },
            "LAUNCHER_SPAWN_TIMEOUT",
        ),
    ],
)
def test_bad_settings_say_which(env, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_base_path_is_normalised():
    env = {"JUPYTERHUB_URL": "http://hub", "JUPYTERHUB_TOKEN": TOKEN, "BASE_PATH": "launcher/"}
    assert Settings.from_env(env).base_path == "/launcher"


def test_token_is_not_in_repr():
    settings = Settings.from_env({"JUPYTERHUB_URL": "http://hub", "JUPYTERHUB_TOKEN": TOKEN})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)


def test_missing_setting_stops_start_up_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    env["JUPYTERHUB_URL"] = "http://127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "-c", "import ewatercycle_experiment_launcher.serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "ewatercycle-experiment-launcher: JUPYTERHUB_TOKEN is not set: give the API token "
        "of the launcher's service in the hub configuration"
    ]
