"""Each operation of the contract, end to end: PAM, a real hub, a real user server."""

from __future__ import annotations

import ast
import re
from urllib.parse import unquote

import nbformat
import pytest
import requests

from .examples import EXAMPLES, example

LOCATION = re.compile(
    r"^(?P<base>http://127\.0\.0\.1:\d+)/user/(?P<user>[^/]+)/lab/workspaces/"
    r"(?P<workspace>[^/]+)/tree/(?P<path>.+)$"
)


# Every test here runs against each JupyterHub release of the matrix (conftest's
# `hub_release`): `versioned_hub`, `versioned_alice` and `versioned_launcher` are that
# release's.


def notebook_at(hub, location: str) -> tuple[str, nbformat.NotebookNode]:
    match = LOCATION.match(location)
    assert match, location
    path = unquote(match["path"])
    response = hub.contents(unquote(match["user"]), path)
    assert response.status_code == 200, response.text
    model = response.json()
    assert model["type"] == "notebook"
    return path, nbformat.from_dict(model["content"])


def visible(folder) -> list[str]:
    """The names a user sees in a folder (Jupyter keeps checkpoints in a hidden one)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    else:
        yield value


def parameters(nb: nbformat.NotebookNode) -> dict:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_contract_example_launches_notebook(
    versioned_hub, versioned_alice, versioned_launcher, kind
):
    directory = f"contract/{kind}"
    body = example(kind, directory=directory)
    response = versioned_launcher.post(f"/{kind}", body, versioned_alice.auth)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    location = response.json()["location"]
    match = LOCATION.match(location)
    assert match, location
    assert match["base"] == versioned_hub.url
    assert match["user"] == versioned_alice.name
    assert re.fullmatch(r"[0-9a-f]{32}", match["workspace"])
    path, nb = notebook_at(versioned_hub, location)
    assert path == f"{directory}/experiment.ipynb"
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
    # Every value of the request reaches the notebook as a literal of its parameters cell.
    if kind == "hello":
        assert any("hello world" in c.source for c in nb.cells if c.cell_type == "code")
    else:
        values = list(parameters(nb).values())
        for value in leaves({k: v for k, v in body.items() if k != "notebook"}):
            assert value in values


def test_spec_defaults_and_optional_fields(versioned_hub, versioned_alice, versioned_launcher):
    body = example("assessment", directory="defaults", filename="a.ipynb", workspace="ws1")
    del body["setup"]["assessment"]["source"]
    response = versioned_launcher.post("/assessment", body, versioned_alice.auth)
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    assert "/lab/workspaces/ws1/tree/defaults/a.ipynb" in location
    _, nb = notebook_at(versioned_hub, location)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "grdc" in code and "get_usgs_data" not in code

    body = example("bmi", directory="defaults")
    del body["setup"]["plotting"]
    response = versioned_launcher.post("/bmi", body, versioned_alice.auth)
    assert response.status_code == 200, response.text


def test_nested_directories_are_created_level_by_level(
    versioned_hub, versioned_alice, versioned_launcher
):
    response = versioned_launcher.post(
        "/hello", example("hello", directory="deep/er/still"), versioned_alice.auth
    )
    assert response.status_code == 200, response.text
    listing = versioned_hub.contents(versioned_alice.name, "deep/er")
    assert listing.status_code == 200
    assert [e["name"] for e in listing.json()["content"]] == ["still"]


def test_existing_notebook_is_kept_and_a_free_name_used(
    versioned_hub, versioned_alice, versioned_launcher
):
    body = example("hello", directory="keep")
    first = versioned_launcher.post("/hello", body, versioned_alice.auth).json()["location"]
    original = (
        versioned_hub.home(versioned_alice.name) / "keep" / "experiment.ipynb"
    ).read_bytes()
    second = versioned_launcher.post("/hello", body, versioned_alice.auth).json()["location"]
    assert first.endswith("/keep/experiment.ipynb")
    assert second.endswith("/keep/experiment-1.ipynb")
    assert (
        versioned_hub.home(versioned_alice.name) / "keep" / "experiment.ipynb"
    ).read_bytes() == original
    assert visible(versioned_hub.home(versioned_alice.name) / "keep") == [
        "experiment-1.ipynb",
        "experiment.ipynb",
    ]


def test_overwrite_only_when_asked(versioned_hub, versioned_alice, versioned_launcher):
    body = example("hello", directory="replace", overwrite=True)
    for _ in range(2):
        location = versioned_launcher.post("/hello", body, versioned_alice.auth).json()["location"]
        assert location.endswith("/replace/experiment.ipynb")
    assert visible(versioned_hub.home(versioned_alice.name) / "replace") == ["experiment.ipynb"]


def test_wrong_password_is_refused_with_a_basic_challenge(versioned_launcher, versioned_alice):
    response = versioned_launcher.post(
        "/hello", example("hello"), (versioned_alice.name, "not-the-password")
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthorized"
    assert "not-the-password" not in response.text


def test_missing_credentials_are_refused(versioned_launcher):
    response = versioned_launcher.post("/hello", example("hello"), None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_server_start_from_stopped(versioned_hub, versioned_alice, versioned_launcher):
    versioned_hub.stop_server(versioned_alice.name)
    response = versioned_launcher.post(
        "/hello", example("hello", directory="cold"), versioned_alice.auth
    )
    assert response.status_code == 200, response.text
    assert (versioned_hub.home(versioned_alice.name) / "cold" / "experiment.ipynb").exists()


def test_spec_and_swagger_ui_are_served(versioned_launcher):
    spec = requests.get(f"{versioned_launcher.url}/openapi.json", timeout=10).json()
    contract = {"/hello", "/opendap", "/threeclickscience", "/bmi", "/assessment"}
    assert contract <= set(spec["paths"])
    for path in contract:
        assert spec["paths"][path]["post"]["requestBody"]["required"] is True
    assert spec["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    ui = requests.get(f"{versioned_launcher.url}/ui/", timeout=10)
    assert ui.status_code == 200 and "swagger-ui" in ui.text
