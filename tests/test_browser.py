"""The journey of a person with a real browser: launch, log in to the hub, and the notebook
opens in JupyterLab with its kernel running; and a launch from Swagger UI.

Headless Chromium from Debian (`apt-get install chromium`), driven by the `playwright`
package (its own browser download is not used). Without either the tests skip, unless
`CI` is set or `LAUNCHER_REQUIRE_BROWSER=1`: then they fail. Each test leaves a
screenshot of its last state in test-artifacts/browser/<test name>.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

from ewatercycle_experiment_launcher.localhub import ROOT

from .examples import example

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
# The background-networking flags keep Chromium from calling home: in a closed network
# those connections are refused and slow everything down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A 401 with `WWW-Authenticate: Basic` makes Chromium hold a request for its own login
# prompt, which headless never answers: the page would wait forever. With these (wrong)
# credentials Playwright answers the prompt once, the second 401 reaches the page.
DECOY_CREDENTIALS = {"username": "no-such-user-browser-test", "password": "not-a-password"}
SCREENSHOTS = ROOT / "test-artifacts" / "browser"
TIMEOUT_MS = 60_000  # generous: a cold JupyterLab on a busy CI machine is slow


def _missing() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -r requirements_dev.txt)"
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM}: apt-get install chromium "
            "(playwright's own browser download is not used)"
        )
    return None


def _required() -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return os.environ.get("LAUNCHER_REQUIRE_BROWSER") == "1" or ci not in ("", "0", "false")


MISSING = _missing()
if MISSING and not _required():
    pytestmark = pytest.mark.skip(reason=f"browser tests: {MISSING}")


@pytest.fixture(scope="session", autouse=True)
def _browser_is_installed():
    """Fails these tests before any hub starts when the browser is required but missing
    (session scope and autouse put it first; it only applies to this module)."""
    if MISSING:
        pytest.fail(f"browser tests are required (CI or LAUNCHER_REQUIRE_BROWSER=1): {MISSING}")


@pytest.fixture(scope="module")
def chromium():
    """Playwright's Chromium type, for this module only (its event loop is not kept
    around for the other test modules)."""
    with sync_playwright() as playwright:
        yield playwright.chromium


@pytest.fixture
def page(chromium, tmp_path, request):
    """A page of a fresh headless Chromium with a new empty profile; on teardown (also
    after a failure) a screenshot of it goes to test-artifacts/browser/<test name>.png."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    context = chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 800},
        http_credentials=DECOY_CREDENTIALS,
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.pages[0] if context.pages else context.new_page()
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        except PlaywrightError:
            pass
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


# -- what a person does ---------------------------------------------------------------


def log_in_to_hub(page, hub, user) -> None:
    """The hub's login form, as a person fills it in."""
    page.goto(f"{hub.url}/hub/login?next={quote('/hub/home')}")
    page.locator("#username_input").fill(user.name)
    page.locator("#password_input").fill(user.password)
    page.locator("#login_submit").click()
    try:
        page.wait_for_url(f"{hub.url}/hub/home")
    except PlaywrightError:
        raise AssertionError(
            f"hub login of {user.name} did not succeed; page {page.url} says: "
            + page.locator("body").inner_text()[:500]
        ) from None


def assert_notebook_opens_with_idle_kernel(page, location: str) -> str:
    """Opens `location` and checks what the person sees: JupyterLab with the notebook in
    the current tab, its kernel idle, and no dialog (such as "Select Kernel", which a
    notebook without a usable kernelspec raises). Returns the file name."""
    filename = unquote(urlsplit(location).path.rsplit("/", 1)[-1])
    page.goto(location)

    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle\s*$"))
    dialog = page.locator(".jp-Dialog")
    # Whichever comes first: the kernel idle, or a dialog that would stop the person.
    idle.or_(dialog).first.wait_for(state="visible")
    if dialog.count():
        raise AssertionError(
            "JupyterLab shows a dialog instead of starting the kernel: "
            + dialog.first.inner_text().replace("\n", " | ")[:300]
        )

    tab = page.locator(".lm-TabBar-tab.jp-mod-current[data-type='document-title']")
    expect(tab.locator(".lm-TabBar-tabLabel")).to_have_text(filename)
    expect(panel.locator(".jp-Notebook")).to_be_visible()
    expect(panel.locator(".jp-Toolbar-kernelName")).to_contain_text("Python 3")
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle"
    )
    expect(dialog).to_have_count(0)
    return filename


def run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


# -- the tests ------------------------------------------------------------------------


def test_launched_notebook_opens_in_jupyterlab_with_its_kernel(page, hub, alice, launcher):
    response = launcher.post("/hello", example("hello", directory="browser"), alice.auth)
    assert response.status_code == 200, response.text
    location = response.json()["location"]

    log_in_to_hub(page, hub, alice)
    filename = assert_notebook_opens_with_idle_kernel(page, location)
    assert filename == "experiment.ipynb"
    assert urlsplit(page.url).path == urlsplit(location).path

    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Cell")).to_have_count(3)
    expect(panel.locator(".jp-MarkdownCell").first).to_contain_text("Welcome")
    # The kernel really runs the notebook.
    run_all_cells(page)
    expect(panel.locator(".jp-OutputArea-output")).to_have_text("hello world")
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def _no_kernel_metadata(metadata: dict) -> None:
    metadata.clear()


def _kernel_not_on_server(metadata: dict) -> None:
    metadata["kernelspec"].update(name="no-such-kernel", language="no-such-language")
    metadata.pop("language_info", None)


@pytest.mark.parametrize(
    "breakage",
    [_no_kernel_metadata, _kernel_not_on_server],
    ids=["no-kernel-metadata", "kernel-not-on-server"],
)
def test_broken_kernelspec_is_caught(page, hub, alice, launcher, breakage):
    """The check above must fail when something is wrong: the launched notebook with its
    kernel metadata left out, or naming a kernel the server does not have, makes JupyterLab
    ask "Select Kernel", and the check reports that. (Without `kernelspec` but with
    `language_info` python, JupyterLab quietly picks the python kernel: no dialog.)"""
    body = example("hello", directory="browser-broken")
    response = launcher.post("/hello", body, alice.auth)
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    path = unquote(urlsplit(location).path.split("/tree/", 1)[1])
    content = hub.contents(alice.name, path).json()["content"]
    breakage(content["metadata"])
    written = requests.put(
        f"{hub.url}/user/{quote(alice.name)}/api/contents/{quote(path)}",
        headers={"Authorization": f"token {hub.harness_token}"},
        json={"type": "notebook", "format": "json", "content": content},
        timeout=30,
    )
    assert written.status_code == 200, written.text

    log_in_to_hub(page, hub, alice)
    with pytest.raises(AssertionError, match="Select Kernel"):
        assert_notebook_opens_with_idle_kernel(page, location)


def test_swagger_ui_launches_a_notebook(page, alice, launcher, hub):
    page.goto(f"{launcher.url}/ui/")

    page.locator(".auth-wrapper .btn.authorize").click()
    basic = page.locator(".dialog-ux .auth-container", has_text="basicAuth")
    basic.locator("input[name='username']").fill(alice.name)
    basic.locator("input[name='password']").fill(alice.password)
    basic.locator("button.authorize").click()
    expect(basic).to_contain_text("Authorized")
    page.locator(".dialog-ux button.btn-done").first.click()
    expect(page.locator(".dialog-ux")).to_have_count(0)

    operation = page.locator(".opblock-post").filter(
        has=page.locator(".opblock-summary-path[data-path='/hello']")
    )
    operation.locator(".opblock-summary-control").click()
    try_it_out = operation.locator(".try-out__btn")
    if try_it_out.inner_text().strip() == "Try it out":  # not already on (tryItOutEnabled)
        try_it_out.click()
    operation.locator("textarea.body-param__text").fill(
        json.dumps({"notebook": {"directory": "swagger"}})
    )
    operation.locator(".btn.execute").click()

    # The "Server response" table appears once the answer is in.
    live = operation.locator(".live-responses-table")
    status = live.locator("tbody .response-col_status")
    status.wait_for()
    live.scroll_into_view_if_needed()
    shown = " ".join(live.inner_text().split())
    assert status.inner_text().strip() == "200", f"Swagger UI shows: {shown[:500]}"
    body = live.locator(".response-col_description .highlight-code pre")
    location = json.loads(body.inner_text())["location"]
    assert f"/user/{alice.name}/lab/workspaces/" in location, location
    assert location.startswith(f"{hub.url}/"), location
    # The notebook the page reports is really there.
    path = unquote(urlsplit(location).path.split("/tree/", 1)[1])
    assert path.startswith("swagger/experiment") and path.endswith(".ipynb"), path
    assert hub.contents(alice.name, path, content=0).status_code == 200
