"""docs/kubernetes.md and the example hub configurations, checked the way helm and
JupyterHub check them before anything runs: the chart values against the chart's own
schema (tests/z2jh, release 4.4.0), the services and roles against the start-up checks of
the installed hub, and the default scopes against JupyterHub 5, which that chart runs.
None of it needs a cluster, a hub or root."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jupyterhub import roles as hub_roles
from jupyterhub import scopes as hub_scopes
from jupyterhub.services.service import Service
from traitlets import TraitError
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "kubernetes.md"
CHART = Path(__file__).resolve().parent / "z2jh"
EXAMPLES = ["jupyterhub_config.py.example", "jupyterhub_config.managed.py.example"]
HUB5_PYTHON = ROOT / ".venv-hub5" / "bin" / "python"
SERVICE = "experiment-launcher"

# How the guide marks its blocks: the chart's values, and an addition to the
# Deployment's env; every other YAML block is a set of Kubernetes objects.
CHART_VALUES = "# config.yaml\n"
ENV_FRAGMENT = "# the Deployment's container: more env\n"

# Scopes a JupyterHub 5 hub does not know, with the release that added them (from the
# scope definitions of jupyterhub 5.5.0 and 6.1.1, which differ by this one).
NEW_IN_JUPYTERHUB_6 = {"start:servers": "6.0"}

# The fields of a load_roles entry that JupyterHub reads. It ignores any other, so a
# misspelled "services" would start a hub whose launcher lacks its role.
ROLE_FIELDS = {"name", "description", "scopes", "users", "services", "groups"}


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", GUIDE.read_text(), re.S | re.M)


def chart_blocks() -> list[str]:
    return [block for block in yaml_blocks() if block.startswith(CHART_VALUES)]


def manifests() -> list[dict[str, Any]]:
    return [
        document
        for block in yaml_blocks()
        if not block.startswith((CHART_VALUES, ENV_FRAGMENT))
        for document in yaml.safe_load_all(block)
    ]


def load_chart_file(name: str) -> Any:
    return yaml.safe_load((CHART / name).read_text())


CHART_DEFAULTS = load_chart_file("values.yaml")
SCHEMA_VALIDATOR = jsonschema.Draft7Validator(load_chart_file("values.schema.yaml"))


def helm_merge(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of -f values over the chart's: maps merge, the user's value wins
    anywhere else (lists are replaced, not appended), and a null deletes the default."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_problems(values: dict[str, Any]) -> list[str]:
    merged = helm_merge(CHART_DEFAULTS, values)
    return [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in SCHEMA_VALIDATOR.iter_errors(merged)
    ]


def as_hub_config(values: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """hub.services and hub.loadRoles as the chart's jupyterhub_config.py hands them to
    JupyterHub: the key is the default name, apiToken becomes the api_token it keeps."""
    hub = values.get("hub") or {}
    services = []
    for key, fields in (hub.get("services") or {}).items():
        service = {"name": key, **fields}
        service.pop("apiToken", None)
        service["api_token"] = "kept-in-the-charts-secret"
        services.append(service)
    roles = [{"name": key, **fields} for key, fields in (hub.get("loadRoles") or {}).items()]
    return services, roles


def service_problems(spec: dict[str, Any]) -> list[str]:
    """As JupyterHub.service_from_spec: each field must be an input trait of Service, of
    the trait's type."""
    fields = Service.class_traits(input=True)
    service = Service()
    problems = []
    for key, value in spec.items():
        if key not in fields:
            problems.append(f"No such service field: {key}")
            continue
        try:
            setattr(service, key, value)
        except TraitError as error:
            problems.append(str(error))
    return problems


def role_problems(role: dict[str, Any], service_names: set[str]) -> list[str]:
    """As the hub's start-up: a valid role name, scopes it knows, services it has."""
    problems = [f"unknown role field: {key}" for key in set(role) - ROLE_FIELDS]
    try:
        hub_roles._validate_role_name(role["name"])
        hub_scopes._check_scopes_exist(role.get("scopes", []), who_for=f"role {role['name']}")
    except (ValueError, KeyError) as error:
        problems.append(str(error))
    for name in set(role.get("services", [])) - service_names:
        problems.append(f"Found undefined service {name} in role {role['name']}")
    return problems


def hub_problems(services: list[dict], roles: list[dict]) -> list[str]:
    problems = [p for service in services for p in service_problems(service)]
    names = {service["name"] for service in services}
    return problems + [p for role in roles for p in role_problems(role, names)]


def chart_problems(values: dict[str, Any]) -> list[str]:
    return schema_problems(values) + hub_problems(*as_hub_config(values))


def load_example(name: str) -> tuple[list[dict], list[dict]]:
    config = PyFileConfigLoader(name, path=str(ROOT)).load_config()
    services = [dict(service) for service in config.JupyterHub.services]
    return services, [dict(role) for role in config.JupyterHub.load_roles]


def launcher_role(roles: list[dict]) -> dict[str, Any]:
    (role,) = [role for role in roles if SERVICE in role.get("services", [])]
    return role


def role_sources() -> list[Any]:
    """Every place that defines the launcher's role, with its text and its roles."""
    sources = [
        pytest.param((ROOT / name).read_text(), load_example(name)[1], id=name)
        for name in EXAMPLES
    ]
    for n, block in enumerate(chart_blocks()):
        roles = as_hub_config(yaml.safe_load(block))[1]
        if roles:
            sources.append(pytest.param(block, roles, id=f"kubernetes.md-block{n}"))
    return sources


def test_every_yaml_block_of_the_guide_is_checked():
    assert chart_blocks(), "no chart values block starts with " + CHART_VALUES
    assert any(as_hub_config(yaml.safe_load(block))[1] for block in chart_blocks())
    for document in manifests():
        assert isinstance(document, dict) and "kind" in document, document
    assert {document["kind"] for document in manifests()} == {
        "Deployment",
        "Service",
        "NetworkPolicy",
    }


@pytest.mark.parametrize("block", chart_blocks())
def test_chart_values_pass_the_charts_schema_and_the_hubs_checks(block):
    values = yaml.safe_load(block)
    assert isinstance(values, dict) and values
    assert chart_problems(values) == []


def rename(mapping: dict, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def first_role_block() -> dict[str, Any]:
    return next(
        yaml.safe_load(block)
        for block in chart_blocks()
        if (yaml.safe_load(block).get("hub") or {}).get("loadRoles")
    )


MISTAKES: list[tuple[str, Callable[[dict], None], str]] = [
    ("chart key", lambda v: rename(v["hub"], "loadRoles", "loadRole"), "'loadRole' was"),
    (
        "network policy key",
        lambda v: (
            v.setdefault("proxy", {})
            .setdefault("chp", {})
            .update({"networkPolicy": {"egres": []}})
        ),
        "'egres' was",
    ),
    (
        "service field",
        lambda v: v["hub"]["services"][SERVICE].update({"urll": "http://x"}),
        "No such service field: urll",
    ),
    (
        "service field type",
        lambda v: v["hub"]["services"][SERVICE].update({"environment": ["A=b"]}),
        "'environment' trait",
    ),
    (
        "scope",
        lambda v: v["hub"]["loadRoles"][SERVICE]["scopes"].append("start:server"),
        "Scope 'start:server'",
    ),
    (
        "role field",
        lambda v: rename(v["hub"]["loadRoles"][SERVICE], "services", "service"),
        "unknown role field: service",
    ),
    (
        "role's service",
        lambda v: v["hub"]["loadRoles"][SERVICE]["services"].append("experiment-lancher"),
        "undefined service experiment-lancher",
    ),
]


@pytest.mark.parametrize("what, mistake, message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_in_the_chart_values_is_refused(what, mistake, message):
    values = first_role_block()
    assert chart_problems(values) == []
    mistake(values)
    problems = chart_problems(values)
    assert any(message in problem for problem in problems), problems


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_config_passes_the_hubs_checks(name):
    services, roles = load_example(name)
    assert [service["name"] for service in services] == [SERVICE]
    assert hub_problems(services, roles) == []


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize(
    "mistake, message",
    [
        (lambda s, r: s[0].update({"api_tokn": "x"}), "No such service field: api_tokn"),
        (lambda s, r: launcher_role(r)["scopes"].append("start:server"), "'start:server'"),
        (lambda s, r: launcher_role(r).update({"servics": [SERVICE]}), "field: servics"),
    ],
    ids=["service field", "scope", "role field"],
)
def test_a_mistake_in_an_example_config_is_refused(name, mistake, message):
    services, roles = load_example(name)
    mistake(services, roles)
    problems = hub_problems(services, roles)
    assert any(message in problem for problem in problems), problems


def test_the_jupyterhub_6_scopes_are_real():
    """Else the check below would pass on a misspelled name."""
    import jupyterhub

    installed = tuple(int(part) for part in jupyterhub.__version__.split(".")[:2])
    for scope, version in NEW_IN_JUPYTERHUB_6.items():
        assert scope in hub_scopes.scope_definitions
        assert installed >= tuple(int(part) for part in version.split("."))


# A commented-out scope entry or list that starts with "start:servers", in Python or YAML.
COMMENTED_START = r'^\s*#\s*(- |"scopes": \[|scopes: \[)?"?start:servers\b'


def narrow(scopes: list[str]) -> list[str]:
    return ["start:servers" if scope == "servers" else scope for scope in scopes]


@pytest.mark.parametrize("text, roles", role_sources())
def test_default_scopes_suit_jupyterhub_5_and_the_narrower_ones_are_shown(text, roles):
    scopes = launcher_role(roles)["scopes"]
    assert "servers" in scopes and {"read:servers", "access:servers"} <= set(scopes)
    assert not set(scopes) & set(NEW_IN_JUPYTERHUB_6), scopes
    assert re.search(COMMENTED_START, text, re.M), "no commented-out 6.x alternative"
    hub_scopes._check_scopes_exist(narrow(scopes))
    # Narrowing gives up stopping servers and nothing else.
    assert expand(scopes) - expand(narrow(scopes)) == {"servers", "delete:servers"}
    assert expand(narrow(scopes)) < expand(scopes)


def expand(scopes: list[str]) -> set[str]:
    return set().union(*(hub_scopes._expand_scope(scope) for scope in scopes))


HUB5_CHECK = """
import json, sys
import jupyterhub
from jupyterhub.scopes import ScopeNotFound, _check_scopes_exist
from jupyterhub.services.service import Service
asked = json.load(sys.stdin)
answer = {"version": jupyterhub.__version__, "scopes": {}, "fields": {}}
for label, scopes in asked["scopes"].items():
    try:
        _check_scopes_exist(scopes)
        answer["scopes"][label] = None
    except ScopeNotFound as error:
        answer["scopes"][label] = str(error)
fields = Service.class_traits(input=True)
for label, keys in asked["fields"].items():
    answer["fields"][label] = sorted(set(keys) - set(fields))
print(json.dumps(answer))
"""


def test_defaults_pass_a_real_jupyterhub_5():
    if not HUB5_PYTHON.exists():
        pytest.skip("no JupyterHub 5 environment: bash scripts/hub-venv.sh makes it")
    scopes, fields = {}, {}
    for param in role_sources():
        _, roles = param.values
        scopes[param.id] = launcher_role(roles)["scopes"]
        scopes[param.id + " narrowed"] = narrow(scopes[param.id])
    for name in EXAMPLES:
        fields[name] = list(load_example(name)[0][0])
    for n, block in enumerate(chart_blocks()):
        for service in as_hub_config(yaml.safe_load(block))[0]:
            fields[f"kubernetes.md-block{n}"] = list(service)
    result = subprocess.run(
        [str(HUB5_PYTHON), "-c", HUB5_CHECK],
        input=json.dumps({"scopes": scopes, "fields": fields}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(result.stdout)
    # The same release line as the chart's (the env has its newest patch release).
    line = load_chart_file("Chart.yaml")["appVersion"].split(".")[:2]
    assert answer["version"].split(".")[:2] == line, answer["version"]
    for label, error in answer["scopes"].items():
        if label.endswith(" narrowed"):
            assert error and "start:servers" in error, (label, error)
        else:
            assert error is None, (label, error)
    assert all(unknown == [] for unknown in answer["fields"].values()), answer["fields"]


def pod_labels() -> dict[str, str]:
    (deployment,) = [m for m in manifests() if m["kind"] == "Deployment"]
    return deployment["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("manifest", manifests(), ids=lambda m: m.get("kind"))
def test_manifest_has_the_basic_shape_and_labels(manifest):
    assert manifest["apiVersion"] in ("v1", "apps/v1", "networking.k8s.io/v1")
    metadata = manifest["metadata"]
    assert metadata["name"] == SERVICE and metadata["namespace"]
    assert metadata["labels"]["app.kubernetes.io/name"] == SERVICE
    selector = {
        "Deployment": lambda spec: spec["selector"]["matchLabels"],
        "Service": lambda spec: spec["selector"],
        "NetworkPolicy": lambda spec: spec["podSelector"]["matchLabels"],
    }[manifest["kind"]](manifest["spec"])
    assert selector and selector.items() <= pod_labels().items(), selector


def test_deployment_reads_the_token_the_chart_keeps():
    (deployment,) = [m for m in manifests() if m["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    reference = env["JUPYTERHUB_TOKEN"]["valueFrom"]["secretKeyRef"]
    prefix = CHART_DEFAULTS["fullnameOverride"]
    assert reference["name"] == (f"{prefix}-hub" if prefix else "hub")
    keys = [
        f"hub.services.{key}.apiToken"
        for block in chart_blocks()
        for key in ((yaml.safe_load(block).get("hub") or {}).get("services") or {})
    ]
    assert reference["key"] in keys
    assert pod_labels()["hub.jupyter.org/network-access-proxy-http"] == "true"


def test_network_policy_admits_the_charts_own_pods():
    (policy,) = [m for m in manifests() if m["kind"] == "NetworkPolicy"]
    chart = load_chart_file("Chart.yaml")["name"]
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            labels = peer["podSelector"]["matchLabels"]
            assert labels["app.kubernetes.io/name"] == chart
            assert labels["app.kubernetes.io/component"] in ("proxy", "hub")


def test_env_additions_are_name_value_pairs():
    fragments = [b for b in yaml_blocks() if b.startswith(ENV_FRAGMENT)]
    assert fragments
    for fragment in fragments:
        for item in yaml.safe_load(fragment):
            assert set(item) == {"name", "value"} and isinstance(item["value"], str), item
