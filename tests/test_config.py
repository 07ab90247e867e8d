from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ewatercycle_experiment_launcher import cli
from ewatercycle_experiment_launcher.config import (
    ConfigError,
    Settings,
    declared,
    markdown_table,
)

ROOT = Path(__file__).resolve().parent.parent

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


MINIMAL = {"JUPYTERHUB_URL": "http://hub", "JUPYTERHUB_TOKEN": TOKEN}


def test_integers_are_parsed_as_integers():
    settings = Settings.from_env({**MINIMAL, "LAUNCHER_THREADS": "64"})
    assert settings.threads == 64 and isinstance(settings.threads, int)


@pytest.mark.parametrize("raw", ["2.5", "1e3", "many"])
def test_an_integer_setting_refuses_a_fraction(raw):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "LAUNCHER_PAM_CONCURRENCY": raw})
    assert str(caught.value) == f"LAUNCHER_PAM_CONCURRENCY must be a whole number, got {raw!r}"


@pytest.mark.parametrize(
    "name, raw, needle",
    [
        ("LAUNCHER_THREADS", "0", "LAUNCHER_THREADS must be at least 1, got '0'"),
        ("LAUNCHER_HUB_TIMEOUT", "0", "LAUNCHER_HUB_TIMEOUT must be at least 0.1, got '0'"),
        ("LAUNCHER_CREATE_USERS", "Maybe", "LAUNCHER_CREATE_USERS must be true or false"),
        ("LAUNCHER_AUTH_METHODS", "pam,ldap", "must list some of pam, token, got 'pam,ldap'"),
        ("LAUNCHER_CORS_ORIGINS", "https://a.org/x", "origins such as https://example.org"),
        ("LAUNCHER_FAILED_LOGINS_PER_USER", "lots", "a rate such as '5/minute'"),
        ("JUPYTERHUB_SERVICE_URL", "launcher:80", "must be an http URL"),
        ("LAUNCHER_LOG_LEVEL", "chatty", "LAUNCHER_LOG_LEVEL must be a level"),
    ],
)
def test_malformed_values_are_refused_in_one_line(name, raw, needle):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, name: raw})
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_unset_and_empty_variables_give_the_declared_defaults():
    settings = Settings.from_env(MINIMAL)
    empty = Settings.from_env({**{name: "" for s in declared() for name in s.env}, **MINIMAL})
    assert empty == settings
    built = Settings(
        hub_url=settings.hub_url,
        hub_token=TOKEN,
        hub_api_url=settings.hub_api_url,
        public_url=settings.public_url,
    )
    assert settings == built


def test_hub_managed_variables_stand_in_and_own_ones_win():
    managed = {
        "JUPYTERHUB_API_TOKEN": "managed-token",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
        "JUPYTERHUB_INTERNAL_URL": "http://127.0.0.1:8000",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/experiment-launcher/",
        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
    }
    settings = Settings.from_env(managed)
    assert settings.hub_token == "managed-token"
    assert settings.hub_api_url == "http://127.0.0.1:8081/hub/api"
    assert settings.base_path == "/services/experiment-launcher"
    assert settings.bind_url == "http://127.0.0.1:10101"
    own = Settings.from_env({**managed, **MINIMAL, "BASE_PATH": "/launcher"})
    assert (own.hub_token, own.base_path) == (TOKEN, "/launcher")


def _readme_table() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def _by_variable(lines: list[str]) -> dict[str, str]:
    """{variable: its default cell} of a settings table's rows."""
    rows = [line.split(" | ") for line in lines if line.startswith("| `")]
    return {row[0].strip("| `"): row[1] for row in rows}


def test_readme_table_is_the_declared_one():
    documented = _by_variable(_readme_table())
    declared_defaults = _by_variable(markdown_table().splitlines())
    assert {s.env[0] for s in declared()} == set(declared_defaults)
    missing = sorted(declared_defaults.keys() - documented.keys())
    assert not missing, f"declared but not in the README: {missing}"
    undeclared = sorted(documented.keys() - declared_defaults.keys())
    assert not undeclared, f"in the README but not declared: {undeclared}"
    assert documented == declared_defaults, "a default in the README differs"
    assert _readme_table() == markdown_table().splitlines(), (
        "regenerate: python -m ewatercycle_experiment_launcher.config --markdown"
    )


def test_readme_defaults_are_the_values_in_force_when_unset():
    unset = Settings.from_env(MINIMAL)
    checked = 0
    for name, default in _by_variable(_readme_table()).items():
        literal = re.fullmatch(r"`([^`]+)`( \(managed: .*\))?", default)
        if literal and not name.startswith("JUPYTERHUB_"):
            raw = literal[1].replace("$TMPDIR", tempfile.gettempdir())
            assert Settings.from_env({**MINIMAL, name: raw}) == unset, name
            checked += 1
    assert checked >= 10


def test_markdown_command_prints_the_table():
    result = subprocess.run(
        [sys.executable, "-m", "ewatercycle_experiment_launcher.config", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == markdown_table()


def test_check_config_prints_every_setting_but_not_the_token(monkeypatch, capsys):
    for name in {name for s in declared() for name in s.env}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTERHUB_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("LAUNCHER_THREADS", "64")
    assert cli.main(["check-config", "--offline"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out
    lines = dict(re.findall(r"^([A-Z_]+) +(.*)$", out, re.MULTILINE))
    assert all(s.env[0] in lines for s in declared())
    assert lines["JUPYTERHUB_TOKEN"] == "(set)  (from JUPYTERHUB_API_TOKEN)"
    assert lines["JUPYTERHUB_URL"] == "http://127.0.0.1:9"
    assert lines["LAUNCHER_THREADS"] == "64"
    assert lines["LAUNCHER_SPAWN_TIMEOUT"] == "300  (default)"
    assert lines["LAUNCHER_AUTH_METHODS"] == "pam,token  (default)"
    assert out.splitlines()[-1] == "ok"
