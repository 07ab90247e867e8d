"""Every operation of the served spec, fuzzed by schemathesis against the real launcher
(real hub, real PAM): no 5xx, and every answer is one the spec documents (status code,
content type, body schema). Invalid bodies must be refused.

Bounded: a fixed number of examples per operation, derandomised, so a run is repeatable
and stays within about two minutes.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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
