from __future__ import annotations

import pytest

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer, OSUser
from ewatercycle_experiment_launcher.localhub.releases import CURRENT, MATRIX, HubRelease

from . import privileges
from .privileges import needs_root


def pytest_report_header(config) -> str:
    """The JupyterHub releases the matrix tests run against; their test ids name them."""
    found = ", ".join(f"{release.id} ({release.venv.name})" for release in MATRIX)
    return f"JupyterHub releases of the matrix tests: {found}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Marks the tests that use a root fixture, before `-m` selects by markers."""
    for item in items:
        if privileges.uses_root_fixture(item):
            item.add_marker(privileges.MARKER)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skips a root test without root, before its fixtures start; fails it under CI."""
    if item.get_closest_marker(privileges.MARKER) is None or privileges.is_root():
        return
    if privileges.root_is_required():
        pytest.fail(f"{privileges.REASON}; CI is set, so it may not be skipped", pytrace=False)
    pytest.skip(privileges.REASON)


@pytest.fixture(scope="session")
@needs_root
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub")).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
@needs_root
def scripted_hub(tmp_path_factory):
    """A hub that answers a start at once and starts each user's server as the test's
    script for that user says (slowly, or failing)."""
    hub = Hub(tmp_path_factory.mktemp("scriptedhub"))
    hub.extra_config = hub.scripted_config() + (
        "c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}\n"
    )
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
@needs_root
def os_user():
    """A user who has logged in to the hub once."""
    user = OSUser.create()
    yield user
    user.remove()


@pytest.fixture(scope="session")
def alice(hub, os_user):
    hub.login(os_user)
    return os_user


def start_launcher_for(hub: Hub, tmp_path_factory) -> LauncherServer:
    """The launcher where the hub expects it, with the hub's token."""
    return LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {
            "JUPYTERHUB_URL": hub.url,
            "JUPYTERHUB_TOKEN": hub.token,
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{hub.launcher_url}/oauth_callback",
        },
        port=hub.launcher_port,
    ).start()


@pytest.fixture(scope="session")
def launcher(hub, tmp_path_factory):
    server = start_launcher_for(hub, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session", params=MATRIX, ids=lambda release: release.id)
def hub_release(request) -> HubRelease:
    """Each JupyterHub release of the matrix (localhub.releases): a test that uses it runs
    once per release, the version in its id (`test_x[hub5.5.4]`). A release whose venv is
    missing is skipped, or failed under CI."""
    release = request.param
    if not release.ready():
        reason = f"no JupyterHub in {release.venv}: `make hubs` makes it"
        if privileges.root_is_required():
            pytest.fail(f"{reason}; CI is set, so it may not be skipped", pytrace=False)
        pytest.skip(reason)
    return release


@pytest.fixture(scope="session")
@needs_root
def versioned_hub(request, hub_release, tmp_path_factory):
    """The session's `hub` on the current release, a hub of its own on any other."""
    if hub_release == CURRENT:
        yield request.getfixturevalue("hub")
        return
    hub = Hub(tmp_path_factory.mktemp(hub_release.id), release=hub_release).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def versioned_alice(request, hub_release, versioned_hub, make_user):
    """`alice`, or a user who has logged in once to the release's own hub."""
    if hub_release == CURRENT:
        return request.getfixturevalue("alice")
    return make_user(versioned_hub)


@pytest.fixture(scope="session")
def versioned_launcher(request, hub_release, versioned_hub, tmp_path_factory):
    """`launcher`, or one for the release's own hub."""
    if hub_release == CURRENT:
        yield request.getfixturevalue("launcher")
        return
    server = start_launcher_for(versioned_hub, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
@needs_root
def make_user():
    """Creates OS users (logged in to `hub` when one is given) and removes them at the end."""
    created = []

    def make(hub=None, prefix: str = "elt") -> OSUser:
        user = OSUser.create(prefix)
        created.append(user)
        if hub is not None:
            hub.login(user)
        return user

    yield make
    for user in created:
        user.remove()
