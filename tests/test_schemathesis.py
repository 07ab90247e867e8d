"""Every operation of the served spec, fuzzed by schemathesis against the real launcher
(real hub, real PAM): no 5xx, and every answer is one the spec documents (status code,
content type, body schema). Invalid bodies must be refused.

The launch operations are fuzzed again for their two other answers, server-sent events
and the preview: a stream must end in exactly one `launched` or `problem` event, a
preview must be a valid notebook, and refusals are ordinary problem responses.

Sequences of requests (a Hypothesis state machine whose bodies schemathesis generates)
check what one request leaves for the next: launches into a few shared folders never
report one file twice nor replace a notebook (read back through the contents API), a
preview shows the notebook its launch writes, and the metrics count what was launched.

Bounded: a fixed number of examples per operation and of sequences, derandomised, so a
run is repeatable and stays within a few minutes.
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote

import nbformat
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from prometheus_client.parser import text_string_to_metric_families
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ewatercycle_experiment_launcher.localhub import Hub
from ewatercycle_experiment_launcher.problems import CATALOGUE, TYPE_PREFIX

SPEC = Path(__file__).resolve().parent.parent / "ewatercycle_experiment_launcher" / "openapi.yaml"
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def fuzz_user(hub, make_user):
    """A user of its own, so generated notebooks never land in another test's folders."""
    return make_user(hub, prefix="eltfuzz")


@pytest.fixture(scope="module")
def fuzz_auth(fuzz_user) -> dict[str, str]:
    raw = f"{fuzz_user.name}:{fuzz_user.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def load_schema(mode: GenerationMode):
    """The spec file the launcher serves. (The lazy fixture loader of schemathesis 4 does
    not run under pytest 9, so the schema is loaded at import and pointed at the launcher
    in the test; test_served_spec_is_the_file checks that the two are the same.)"""
    loaded = schemathesis.openapi.from_path(SPEC)
    loaded.config.update(request_timeout=120)
    loaded.config.generation.update(
        modes=[mode],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        # Valid credentials on every request: authentication has tests of its own.
        with_security_parameters=False,
    )
    loaded.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return loaded


valid = load_schema(GenerationMode.POSITIVE)
invalid = load_schema(GenerationMode.NEGATIVE)
BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _inline(node, root):
    """The spec with every local $ref replaced by what it points at, as Connexion serves it."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and node["$ref"].startswith("#/"):
            target = root
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            return _inline(target, root)
        return {key: _inline(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, root) for item in node]
    return node


def test_served_spec_is_the_file(launcher):
    served = requests.get(f"{launcher.url}/openapi.json", timeout=30).json()
    with open(SPEC) as handle:
        spec = yaml.safe_load(handle)
    assert served["paths"] == _inline(spec["paths"], spec)
    assert served["security"] == spec["security"]
    assert served["components"]["securitySchemes"] == spec["components"]["securitySchemes"]


@valid.parametrize()
@BOUNDED
def test_valid_requests_get_documented_answers(case, launcher, fuzz_auth):
    """Requests the spec allows: no 5xx; status, content type and body as documented."""
    case.call_and_validate(base_url=launcher.url, headers=fuzz_auth, checks=CHECKS, timeout=120)


@invalid.parametrize()
@BOUNDED
def test_invalid_requests_are_refused_as_documented(case, launcher, fuzz_auth):
    """Requests the spec forbids (wrong types, unknown fields, bodies that are not JSON or
    not even UTF-8): refused with a documented 4xx problem, never a 5xx."""
    case.call_and_validate(base_url=launcher.url, headers=fuzz_auth, checks=CHECKS, timeout=120)


def test_body_that_is_not_utf8_is_a_400(launcher, fuzz_auth):
    """What the fuzzer found first: undecodable JSON bodies crashed the request."""
    for body in (b"\xbc", b'{"notebook": {"directory": "\xff"}}', b"\xc3("):
        response = requests.post(
            f"{launcher.url}/hello",
            data=body,
            headers={**fuzz_auth, "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 400, (body, response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/problem+json")


# -- the other answers: server-sent events and previews ---------------------------------

EVENTS = "text/event-stream"
NOTEBOOK = "application/x-ipynb+json"
TERMINAL = ("launched", "problem")
CHECKS_OF_ONE_ANSWER = [check for check in CHECKS if check is not negative_data_rejection]


def read_events(raw: bytes) -> list[tuple[str, dict]]:
    """The events of a complete server-sent event stream (WHATWG rules: `:` starts a
    comment, a blank line ends an event, `data` lines join with a newline)."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), f"the stream stops inside an event: {text[-200:]!r}"
    events, name, data = [], None, []
    for line in text.split("\n"):
        if line.startswith(":"):
            continue
        if line == "":
            if data:
                events.append((name or "message", json.loads("\n".join(data))))
            name, data = None, []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        else:
            raise AssertionError(f"unexpected field in the stream: {line!r}")
    return events


def assert_problem_document(problem: dict, status: int | None = None) -> None:
    """A launcher problem: catalogued code, its status and title, a type naming the code."""
    assert {"type", "title", "status", "detail", "code"} <= problem.keys(), problem
    code = problem["code"]
    assert code in CATALOGUE, problem
    assert (problem["status"], problem["title"]) == CATALOGUE[code], problem
    assert problem["type"] == TYPE_PREFIX + code, problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    if status is not None:
        assert problem["status"] == status, problem


def terminal_event(raw: bytes) -> tuple[str, dict]:
    """The one `launched` or `problem` event that ends a launch's stream; every event
    before it is progress."""
    events = read_events(raw)
    assert events, "an empty stream"
    *progress, last = events
    for name, data in progress:
        assert name == "progress", (name, data)
        assert set(data) <= {"progress", "message"}, data
        assert isinstance(data.get("progress"), int) and 0 <= data["progress"] <= 100, data
        assert isinstance(data.get("message", ""), str), data
    name, data = last
    assert name in TERMINAL, events
    if name == "launched":
        assert set(data) == {"location"} and isinstance(data["location"], str), data
    else:
        assert_problem_document(data)
    return last


def assert_other_answer(response, accept: str) -> None:
    """What a request must get for what it accepts: the stream of one launch, a valid
    notebook, the location, or an ordinary problem response."""
    content_type = response.headers.get("content-type", [""])[0]
    if response.status_code != 200:
        assert content_type.startswith("application/problem+json"), content_type
        body = json.loads(response.content)
        if body.get("type", "about:blank") != "about:blank":
            assert_problem_document(body, response.status_code)
        return
    if accept == EVENTS:
        assert content_type.startswith(EVENTS), content_type
        assert not response.stream_cut_short, "the stream did not end"
        terminal_event(response.content)
    elif accept == NOTEBOOK:
        assert content_type.startswith(NOTEBOOK), content_type
        nbformat.validate(nbformat.from_dict(json.loads(response.content)))
    else:
        assert content_type.startswith("application/json"), content_type


def load_launches(mode: GenerationMode):
    """The launch operations only, for the answers that only they have."""
    loaded = load_schema(mode)
    loaded.config.max_stream_events = 1000
    return loaded.include(method="POST")


valid_launches = load_launches(GenerationMode.POSITIVE)
invalid_launches = load_launches(GenerationMode.NEGATIVE)


@pytest.mark.parametrize("accept", [EVENTS, NOTEBOOK])
@valid_launches.parametrize()
@BOUNDED
def test_valid_requests_stream_and_preview(case, accept, hub, launcher, fuzz_user, fuzz_auth):
    """The same valid requests as server-sent events and as previews: no 5xx, documented
    answers, a stream that ends in one `launched` or `problem` event, valid notebooks."""
    headers = {**fuzz_auth, "Accept": accept}
    response = case.call_and_validate(
        base_url=launcher.url, headers=headers, checks=CHECKS_OF_ONE_ANSWER, timeout=120
    )
    assert_other_answer(response, accept)
    if accept == EVENTS and response.status_code == 200:
        name, data = terminal_event(response.content)
        if name == "launched":
            assert data["location"].startswith(f"{hub.url}/user/{fuzz_user.name}/"), data


@pytest.mark.parametrize("accept", [EVENTS, NOTEBOOK])
@invalid_launches.parametrize()
@BOUNDED
def test_invalid_requests_are_refused_before_any_stream_or_preview(
    case, accept, launcher, fuzz_auth
):
    """Requests the spec forbids get the ordinary problem response whatever they accept."""
    headers = {**fuzz_auth, "Accept": accept}
    response = case.call_and_validate(
        base_url=launcher.url, headers=headers, checks=CHECKS, timeout=120
    )
    assert_other_answer(response, accept)


# -- sequences: what one request leaves for the next ------------------------------------

KINDS = ("hello", "opendap", "threeclickscience", "bmi", "assessment")
FOLDERS = ("seq", "seq/deeper")  # few, so that launches meet in them
FILENAMES = (None, "run.ipynb")
SEQUENCES = settings(
    max_examples=12,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],  # a live service keeps its state: no replays while shrinking
    suppress_health_check=list(HealthCheck),
)
# what a run must have got to do, or it proved little
EXERCISED = (
    "launched as JSON",
    "launched as events",
    "numbered",
    "overwritten",
    "previewed, then launched",
    "raced",
    "health",
    "metrics",
)
LOCATION = re.compile(r"/user/(?P<user>[^/]+)/lab/workspaces/[^/]+/tree/(?P<path>.+)")


@dataclass
class Launch:
    """A request the sequences send: a kind, and a body whose notebook points into one of
    a few folders."""

    kind: str
    body: dict

    @property
    def notebook(self) -> dict:
        return self.body["notebook"]

    def case(self, accept: str):
        operation = valid[f"/{self.kind}"]["POST"]
        return operation.Case(
            body=self.body, media_type="application/json", headers={"Accept": accept}
        )


@st.composite
def launches(draw, may_overwrite: bool = True) -> Launch:
    kind = draw(st.sampled_from(KINDS))
    generated = draw(valid[f"/{kind}"]["POST"].as_strategy()).body
    notebook = {"directory": draw(st.sampled_from(FOLDERS))}
    filename = draw(st.sampled_from(FILENAMES))
    if filename:
        notebook["filename"] = filename
    if may_overwrite and draw(st.booleans()):
        notebook["overwrite"] = True
    return Launch(kind, {**generated, "notebook": notebook})


@dataclass
class Service:
    """What the sequences run against: the launcher, the hub it launches on, and the
    user whose files they read back as the hub's administrator."""

    url: str
    hub: Hub
    user: str
    auth: dict[str, str]
    # every notebook the sequences wrote: path -> (content, last_modified), kept across
    # sequences, for the files stay
    written: dict[str, tuple[dict, str]] = field(default_factory=dict)
    failures: list[Exception] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)  # what the sequences got to do

    def read(self, path: str) -> tuple[dict, str]:
        response = self.hub.contents(self.user, path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        model = response.json()
        assert model["type"] == "notebook", model["type"]
        return model["content"], model["last_modified"]

    def listing(self, folder: str) -> set[str]:
        response = self.hub.contents(self.user, folder)
        if response.status_code == 404 or (response.status_code == 424 and not self.written):
            return set()  # not made yet, or the first launch has not started the server
        assert response.status_code == 200, response.text[:300]
        return {f"{folder}/{entry['name']}" for entry in response.json()["content"]}

    def successes(self) -> Counter:
        text = requests.get(f"{self.url}/metrics", timeout=30).text
        counts = Counter()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (
                    sample.name == "experiment_launcher_launches_total"
                    and sample.labels.get("outcome") == "success"
                ):
                    counts[sample.labels["kind"]] = int(sample.value)
        return counts


def remembered(step):
    """Keeps the first failure: Hypothesis replays a failing sequence to report it, and
    against a service that has moved on the replay may fail elsewhere, or not at all."""

    @functools.wraps(step)
    def run(self, *args, **kwargs):
        try:
            return step(self, *args, **kwargs)
        except Exception as error:
            self.service.failures.append(error)
            raise

    return run


def as_built(notebook: dict) -> dict:
    """A notebook without what differs between two builds of one request (the cell ids,
    drawn afresh) and what a Jupyter server adds when it serves one (`trusted`)."""
    cells = [
        {
            **{key: value for key, value in cell.items() if key != "id"},
            "metadata": {k: v for k, v in cell["metadata"].items() if k != "trusted"},
        }
        for cell in notebook["cells"]
    ]
    return {**notebook, "cells": cells}


class LaunchSequences(RuleBasedStateMachine):
    """Launches, previews, races, health and metrics in any order, against the real
    service. After every step: no notebook written earlier was replaced or lost, and no
    file other than the launched notebooks appeared in the folders."""

    service: ClassVar[Service]
    previewed = Bundle("previewed")

    @initialize()
    def remember_the_counts(self) -> None:
        self.counts_before = self.service.successes()
        self.launched: Counter = Counter()
        self.mine: set[str] = set()

    def send(self, launch: Launch, accept: str):
        case = launch.case(accept)
        response = case.call(base_url=self.service.url, headers=self.service.auth, timeout=120)
        case.validate_response(response, checks=CHECKS_OF_ONE_ANSWER)
        assert_other_answer(response, accept)
        return response

    def location(self, launch: Launch, response) -> str | None:
        """The path the answer reports, checked to be new (or exactly the name asked
        for, when overwriting); None when the launch was refused."""
        if response.status_code != 200:
            self.service.seen["refused"] += 1
            return None
        if response.headers["content-type"][0].startswith(EVENTS):
            name, data = terminal_event(response.content)
            if name == "problem":
                self.service.seen["refused in the stream"] += 1
                return None
            location = data["location"]
            self.service.seen["launched as events"] += 1
        else:
            location = json.loads(response.content)["location"]
            self.service.seen["launched as JSON"] += 1
        assert location.startswith(f"{self.service.hub.url}/user/"), location
        match = LOCATION.search(location)
        assert match and unquote(match["user"]) == self.service.user, location
        path = unquote(match["path"])
        folder, _, name = path.rpartition("/")
        wanted = launch.notebook.get("filename", "experiment.ipynb")
        assert folder == launch.notebook["directory"], (path, launch.notebook)
        if launch.notebook.get("overwrite"):
            assert name == wanted, (path, launch.notebook)
            self.service.seen["overwritten" if path in self.service.written else "new"] += 1
        else:
            stem = wanted.removesuffix(".ipynb")
            assert re.fullmatch(rf"{re.escape(stem)}(-[1-9]\d*)?\.ipynb", name), path
            assert path not in self.service.written, f"{path} reported by two launches"
            self.service.seen["numbered" if name != wanted else "new"] += 1
        self.launched[launch.kind] += 1
        return path

    def record(self, path: str) -> dict:
        content, modified = self.service.read(path)
        nbformat.validate(nbformat.from_dict(content))
        self.service.written[path] = (content, modified)
        self.mine.add(path)
        return content

    @rule(launch=launches(), accept=st.sampled_from(["application/json", EVENTS]))
    @remembered
    def launch(self, launch: Launch, accept: str) -> None:
        path = self.location(launch, self.send(launch, accept))
        if path is not None:
            self.record(path)

    @rule(target=previewed, launch=launches())
    @remembered
    def preview(self, launch: Launch):
        response = self.send(launch, NOTEBOOK)
        if response.status_code != 200:
            return multiple()  # refused (e.g. a period that ends before it starts)
        return launch, json.loads(response.content)

    @rule(previewed=previewed, accept=st.sampled_from(["application/json", EVENTS]))
    @remembered
    def launch_what_was_previewed(self, previewed, accept: str) -> None:
        launch, preview = previewed
        path = self.location(launch, self.send(launch, accept))
        assert path is not None, "a previewed request was refused"
        content = self.record(path)
        assert as_built(content) == as_built(preview), path
        self.service.seen["previewed, then launched"] += 1

    @rule(launch=launches(may_overwrite=False), count=st.integers(2, 3))
    @remembered
    def race(self, launch: Launch, count: int) -> None:
        """The same request several times at once: each gets a file of its own."""
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(lambda _: self.send(launch, "application/json"), range(count)))
        paths = [self.location(launch, answer) for answer in answers]
        assert None not in paths, [a.content[:200] for a in answers]
        assert len(set(paths)) == count, paths
        self.service.seen["raced"] += 1
        for path in paths:
            self.record(path)

    @rule()
    @remembered
    def health(self) -> None:
        case = valid["/health"]["GET"].Case()
        response = case.call(base_url=self.service.url, timeout=60)
        case.validate_response(response, checks=CHECKS_OF_ONE_ANSWER)
        assert response.status_code == 200, response.content[:300]
        self.service.seen["health"] += 1

    @rule()
    @remembered
    def metrics(self) -> None:
        """The launches counted as successes are exactly those that reported a file."""
        counts = self.service.successes()
        counts.subtract(self.counts_before)
        assert +counts == +self.launched, (counts, self.launched)
        self.service.seen["metrics"] += 1

    @invariant()
    @remembered
    def nothing_replaced_or_left_over(self) -> None:
        for path in getattr(self, "mine", ()):
            assert self.service.read(path) == self.service.written[path], f"{path} changed"
        for folder in FOLDERS:
            found = {p for p in self.service.listing(folder) if not p.endswith("/deeper")}
            assert found == {p for p in self.service.written if p.rpartition("/")[0] == folder}


@pytest.fixture(scope="module")
def sequence_user(hub, make_user):
    return make_user(hub, prefix="eltseq")


def test_launch_sequences_keep_every_notebook(hub, launcher, sequence_user):
    """Sequences of launches (as JSON and as events), previews followed by the launch of
    what they showed, concurrent launches of one request, health and metrics."""
    raw = f"{sequence_user.name}:{sequence_user.password}".encode()
    auth = {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    service = Service(launcher.url, hub, sequence_user.name, auth)
    machine = type("Sequences", (LaunchSequences,), {"service": service})
    try:
        run_state_machine_as_test(machine, settings=SEQUENCES)
    except Flaky:
        if service.failures:
            raise service.failures[0] from None
        raise
    for path, recorded in service.written.items():
        assert service.read(path) == recorded, f"{path} changed"
    assert set(EXERCISED) <= set(service.seen), service.seen
