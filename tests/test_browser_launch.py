"""Launch links in a real browser against a real hub, with the launcher as the hub's
OAuth client: external (the `launcher` fixture, on its own origin) and run by the hub
(behind the hub's proxy, with a spawner that starts slowly or fails on request).

A screenshot of every step goes to test-artifacts/browser/launch-links/.
"""

# ruff: noqa: F811  (`page` is the fixture of tests/test_browser.py)

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
import requests

from ewatercycle_experiment_launcher import links
from ewatercycle_experiment_launcher.localhub import ROOT, Hub, free_port, wait_for

from .examples import example
from .test_browser import (  # noqa: F401  (fixtures)
    MISSING,
    SCREENSHOTS,
    _browser_is_installed,
    _required,
    chromium,
    page,
)

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - depends on the environment
    expect = None

if MISSING and not _required():
    pytestmark = pytest.mark.skip(reason=f"browser tests: {MISSING}")

STEPS = SCREENSHOTS / "launch-links"
MANAGED = ROOT / "jupyterhub_config.managed.py.example"
SERVICE_PREFIX = "/services/experiment-launcher"
OPENDAP = "http://example.org/thredds/dodsC/data.nc?name=%C3%A9t%C3%A9&x=1=2#part"


def shot(page, name: str) -> None:
    STEPS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(STEPS / f"{name}.png"), full_page=True)


def link(base: str, operation: str, body: dict) -> str:
    return links.link(f"{base}/", operation, body)


def log_in_at_the_hub(page, hub, user) -> None:
    """The hub's own login form, reached because the launcher sent the browser there."""
    expect(page.locator("#username_input")).to_be_visible()
    assert page.url.startswith(f"{hub.url}/hub/login"), page.url
    page.locator("#username_input").fill(user.name)
    page.locator("#password_input").fill(user.password)
    page.locator("#login_submit").click()


def wait_for_jupyterlab_with_idle_kernel(page, filename: str) -> None:
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle\s*$"))
    idle.or_(page.locator(".jp-Dialog")).first.wait_for(state="visible")
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    tab = page.locator(".lm-TabBar-tab.jp-mod-current[data-type='document-title']")
    expect(tab.locator(".lm-TabBar-tabLabel")).to_have_text(filename)
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle"
    )


def start_server(hub, user) -> None:
    response = hub.admin("POST", f"/users/{quote(user.name)}/server")
    assert response.status_code in (201, 202, 400), response.text
    wait_for(f"{hub.url}/user/{quote(user.name)}/api/status", ok=(200, 403), timeout=60)
    hub.wait_until_no_spawn_pending()


def contents_put(hub, user, path: str, model: dict) -> None:
    response = requests.put(
        f"{hub.url}/user/{quote(user.name)}/api/contents/{quote(path)}",
        headers={"Authorization": f"token {hub.harness_token}"},
        json=model,
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text


def put_notebook(hub, user, directory: str, filename: str) -> None:
    """An existing notebook in a new folder, as a person's earlier work."""
    parts = directory.split("/")
    for depth in range(1, len(parts) + 1):
        contents_put(hub, user, "/".join(parts[:depth]), {"type": "directory"})
    empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    contents_put(hub, user, f"{directory}/{filename}", {"type": "notebook", "content": empty})


def listing(hub, user, directory: str) -> list[str]:
    response = hub.contents(user.name, directory)
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["content"])


# -- external: the launcher on an origin of its own ----------------------------------------


def test_external_link_logs_in_at_the_hub_and_ends_in_jupyterlab(page, hub, launcher, make_user):
    bob, other = make_user(hub), make_user(hub)
    start_server(hub, bob)
    directory = f"user/{other.name}/links"
    put_notebook(hub, bob, directory, "wasser-水.ipynb")
    body = example("opendap", directory=directory, filename="wasser-水.ipynb")
    body["opendap"] = OPENDAP
    url = link(launcher.url, "opendap", body)

    page.goto(url)
    shot(page, "external-01-hub-login")
    log_in_at_the_hub(page, hub, bob)
    page.wait_for_url(url)
    assert page.url == url  # every parameter came back intact
    shot(page, "external-02-launch-page")
    expect(page.locator("#user")).to_have_text(bob.name)
    expect(page.locator("#target-directory")).to_have_text(directory)
    expect(page.locator("#target-filename")).to_contain_text("wasser-水.ipynb")
    expect(page.locator(".cells")).to_contain_text(repr(OPENDAP))
    assert listing(hub, bob, directory) == ["wasser-水.ipynb"]  # the page wrote nothing

    page.locator("#launch").click()
    expect(page.locator("#progress")).to_be_visible()
    page.wait_for_url(re.compile(rf"/user/{bob.name}/lab/"))
    wait_for_jupyterlab_with_idle_kernel(page, "wasser-水-1.ipynb")
    shot(page, "external-03-jupyterlab")
    # A numbered file next to the existing one, in bob's own tree whatever the link says.
    assert listing(hub, bob, directory) == ["wasser-水-1.ipynb", "wasser-水.ipynb"]
    assert not (hub.home(other.name) / "links").exists()


class _AttackerPage(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        page = (
            f'<form id="f" method="post" action="{self.target}">'
            '<input name="notebook.directory" value="cross-site"></form>'
            '<script>document.getElementById("f").submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def attacker():
    """A page on another origin (another port; as `localhost`, another site too) that
    posts a launch form to the launcher as soon as it loads."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_cross_site_launch_is_refused_and_writes_nothing(
    page, hub, launcher, make_user, attacker
):
    victim = make_user(hub)
    start_server(hub, victim)
    url = link(launcher.url, "hello", example("hello", directory="cross-site"))
    page.goto(url)
    log_in_at_the_hub(page, hub, victim)
    page.wait_for_url(url)  # logged in to the launcher: its session cookie is there
    _AttackerPage.target = url
    port = attacker.server_address[1]
    for n, origin in enumerate([f"http://127.0.0.1:{port}", f"http://localhost:{port}"], 1):
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.goto(f"{origin}/")
        assert answer.value.status == 403, answer.value.text()
        assert json.loads(answer.value.text())["title"] == "Forbidden"
        shot(page, f"cross-site-0{n}-refused")
    assert hub.contents(victim.name, "cross-site").status_code == 404


def test_a_hostile_link_shows_a_400_page(page, launcher):
    url = link(launcher.url, "hello", example("hello", directory="../../etc"))
    response = page.goto(url)
    assert response.status == 400
    expect(page.locator("#problem-title")).to_have_text("Invalid notebook path")
    expect(page.locator("#problem-detail")).to_contain_text("'..' segment")
    shot(page, "hostile-link-400")


def test_the_link_maker_makes_a_link_the_launcher_reads_back(page, hub, launcher, make_user):
    carol = make_user(hub)
    page.goto(f"{launcher.url}/launch/")
    log_in_at_the_hub(page, hub, carol)
    page.wait_for_url(f"{launcher.url}/launch/")
    page.locator("#operation").select_option("opendap")
    page.locator("#opendap--notebook\\.directory").fill("made by hand")
    page.locator("#opendap--notebook\\.filename").fill("carte-été.ipynb")
    page.locator("#opendap--opendap").fill(OPENDAP)
    page.locator("#make").click()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text(repr(OPENDAP))
    shot(page, "maker-01-link")
    made = page.locator("#link").input_value()
    assert made.startswith(f"{launcher.url}/launch/opendap?")
    body = links.from_query("opendap", links.parse_query(urlsplit(made).query))
    assert body == {
        "notebook": {"directory": "made by hand", "filename": "carte-été.ipynb"},
        "opendap": OPENDAP,
    }
    assert made in page.locator("#markdown").input_value()
    assert "launch/static/badge.svg" in page.locator("#html").input_value()
    page.goto(made)  # the link opens its launch page
    expect(page.locator("#target-filename")).to_contain_text("carte-été.ipynb")
    shot(page, "maker-02-opened")


# -- run by the hub, behind its proxy, with a slow or failing spawner ---------------------


@pytest.fixture(scope="module")
def managed_hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("oauth-managed"), example=MANAGED)
    # A start is answered at once (202), so the launch follows the spawn's progress
    # however quickly the scripted server then comes up.
    hub.extra_config = hub.scripted_config() + (
        "c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}\n"
    )
    hub.start()
    try:
        wait_for(f"{hub.url}{SERVICE_PREFIX}/openapi.json", timeout=90)
        yield hub
    finally:
        hub.stop()


def test_managed_link_shows_the_spawns_progress_and_ends_in_jupyterlab(
    page, managed_hub, make_user
):
    dora = make_user(managed_hub)
    managed_hub.script(dora.name, start_delay=6)
    url = link(f"{managed_hub.url}{SERVICE_PREFIX}", "hello", example("hello", directory="slow"))

    page.goto(url)
    shot(page, "managed-01-hub-login")
    log_in_at_the_hub(page, managed_hub, dora)
    page.wait_for_url(url)
    shot(page, "managed-02-launch-page")
    expect(page.locator(".cells")).to_contain_text("hello world")

    page.locator("#launch").click()
    page.wait_for_function(
        "() => { const p = document.getElementById('progress');"
        " return p && p.value > 0 && p.value < 100; }"
    )
    expect(page.locator("#progress-message")).to_contain_text("Scripted start")
    shot(page, "managed-03-progress")
    page.wait_for_url(re.compile(rf"/user/{dora.name}/lab/"))
    wait_for_jupyterlab_with_idle_kernel(page, "experiment.ipynb")
    shot(page, "managed-04-jupyterlab")
    assert (managed_hub.home(dora.name) / "slow" / "experiment.ipynb").exists()


def test_managed_spawn_failure_is_shown_with_a_retry(page, managed_hub, make_user):
    erin = make_user(managed_hub)
    managed_hub.script(erin.name, fail="No room on the cluster today")
    url = link(f"{managed_hub.url}{SERVICE_PREFIX}", "hello", example("hello", directory="fail"))
    page.goto(url)
    log_in_at_the_hub(page, managed_hub, erin)
    page.wait_for_url(url)
    page.locator("#launch").click()
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator("#problem-title")).to_have_text("Server failed to start")
    expect(page.locator("#problem-detail")).to_contain_text("No room on the cluster today")
    expect(page.locator("#retry")).to_be_visible()
    shot(page, "managed-05-spawn-failed")
