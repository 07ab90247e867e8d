"""The hostile paths of tests/test_isolation.py, sent for the two other answers a launch
request can ask for: server-sent events and the preview.

For each value in each notebook field the JSON answer is the reference. Where it is a
400 problem, the preview and the event stream get that very problem (the stream is
refused before it starts), nothing is sent to the hub and nothing is written. Where the
JSON request launches, the preview is a valid notebook and the stream ends in a
`launched` event whose file is in the caller's home; where the hub itself refuses a
server name, the stream ends in that `problem`. The preview never reaches the hub, and
nothing is ever written outside the caller's home.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer

from .privileges import needs_root
from .recording_proxy import RecordingProxy
from .test_isolation import (
    CORPUS,
    FIELDS,
    UNLIMITED,
    _tree_outside,
    _value,
    assert_only_own_calls,
    assert_refused,
    written_file,
)
from .test_schemathesis import EVENTS, NOTEBOOK, terminal_event

JSON = "application/json"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
@needs_root
def named_hub(tmp_path_factory):
    """Named servers on, so the `server` field reaches the hub for real; a start is
    answered at once, so the launcher relays the hub's progress into the stream."""
    hub = Hub(
        tmp_path_factory.mktemp("hostilehub"),
        extra_config=(
            "c.JupyterHub.allow_named_servers = True\n"
            "c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}\n"
        ),
    ).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def recorder(named_hub):
    with RecordingProxy(named_hub.url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def hostile_launcher(named_hub, recorder, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("hostilelauncher"),
        {"JUPYTERHUB_URL": recorder.url, "JUPYTERHUB_TOKEN": named_hub.token, **UNLIMITED},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caller(named_hub, make_user):
    return make_user(named_hub, prefix="elthost")


@pytest.fixture(scope="module")
def bystander(named_hub, make_user):
    return make_user(named_hub, prefix="eltby")


@pytest.fixture(scope="module")
def outside(named_hub, caller, bystander):
    """Every file and folder of the hub's work tree outside the caller's home, as it was."""
    return _tree_outside(named_hub, caller.name)


def visible_files(home: Path) -> set[str]:
    """The caller's files, less the hidden ones a running server keeps for itself."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(home):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.update(
            str(Path(dirpath, name).relative_to(home))
            for name in filenames
            if not name.startswith(".")
        )
    return found


def ask(launcher, recorder, body, user, accept):
    recorder.clear()
    response = launcher.post("/hello", body, user.auth, headers={"Accept": accept})
    return response, recorder.snapshot()


def assert_same_problem(answer, reference, accept: str) -> None:
    assert answer.status_code == reference.status_code, (accept, answer.text[:300])
    assert answer.headers["Content-Type"].startswith(PROBLEM), (accept, answer.headers)
    assert answer.json() == reference.json(), accept


def stream_end(answer) -> tuple[str, dict]:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"].startswith(EVENTS), answer.headers
    return terminal_event(answer.content)


def assert_notebook(answer) -> None:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"].startswith(NOTEBOOK), answer.headers
    nbformat.validate(nbformat.from_dict(answer.json()))


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "template, must_refuse", [pytest.param(v, r, id=name) for name, v, r in CORPUS]
)
def test_hostile_value_gets_the_json_answer_as_events_and_as_preview(
    named_hub, recorder, hostile_launcher, caller, bystander, outside, field, template, must_refuse
):
    value = _value(field, template, bystander.name)
    body = {"notebook": {"directory": "hostile", field: value}}
    home = named_hub.home(caller.name)
    before = visible_files(home)
    preview, preview_calls = ask(hostile_launcher, recorder, body, caller, NOTEBOOK)
    events, event_calls = ask(hostile_launcher, recorder, body, caller, EVENTS)
    after_events = visible_files(home)
    reference, _ = ask(hostile_launcher, recorder, body, caller, JSON)

    assert preview_calls == [], "a preview reached the hub"
    assert_only_own_calls(event_calls, caller.name, server=value if field == "server" else "")
    assert _tree_outside(named_hub, caller.name) == outside, "something was written elsewhere"
    problem = reference.json() if reference.status_code != 200 else {}
    if reference.status_code == 400 and problem.get("code") != "server-refused":
        assert_refused(reference, field)
        assert_same_problem(preview, reference, NOTEBOOK)
        assert_same_problem(events, reference, EVENTS)
        assert event_calls == [], "refused, yet the stream's launch reached the hub"
        assert after_events == before, "refused, yet something was written"
        return
    assert not must_refuse, f"{field} {value!r} should have been refused: {reference.text[:300]}"
    assert_notebook(preview)
    name, data = stream_end(events)
    if reference.status_code == 200:
        assert name == "launched", data
        path = written_file(named_hub, recorder, caller.name, data["location"])
        reference_path = written_file(
            named_hub, recorder, caller.name, reference.json()["location"]
        )
        assert path.parent == reference_path.parent, (path, reference_path)
        assert str(path.relative_to(home.resolve())) in after_events - before
    else:
        # The hub's own refusal of a server name: the stream ends in that problem.
        assert (reference.status_code, problem["code"]) == (400, "server-refused"), problem
        assert (name, data["code"]) == ("problem", "server-refused"), data
        assert after_events == before
