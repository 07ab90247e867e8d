from __future__ import annotations

import os

import pytest

from .harness import Hub, LauncherServer, OSUser


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root: creates OS users and checks them with PAM")
        for item in items:
            if "hub" in item.fixturenames or "os_user" in item.fixturenames:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub")).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def os_user():
    """A user who has logged in to the hub once."""
    user = OSUser.create()
    yield user
    user.remove()


@pytest.fixture(scope="session")
def alice(hub, os_user):
    hub.login(os_user)
    return os_user


@pytest.fixture(scope="session")
def launcher(hub, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("launcher"),
        {"JUPYTERHUB_URL": hub.url, "JUPYTERHUB_TOKEN": hub.token},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
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
