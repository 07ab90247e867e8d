"""A caller can only ever reach their own server and their own files.

Every call the launcher makes to the hub goes through a recording proxy, so the tests see
the exact request targets: for a request authenticated as `me`, the only hub calls allowed
are `me`'s own server and user model and `me`'s own contents API, whatever the request
body, headers or credentials contain. Hostile values are either refused (400, naming the
field) or land in a file inside `me`'s home.

One hub (with named servers, so the `server` field is exercised for real) and one
launcher serve the whole module.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer

from . import leakscan
from .examples import example
from .privileges import needs_root
from .recording_proxy import RecordingProxy

OTHER = "{OTHER}"  # replaced by the other user's name

# (id, value, README says it must be refused). The README's rules for directory, filename,
# workspace and server: no `.`/`..` segments, no absolute paths, no empty segments, no hidden (dot)
# names, no control characters, no `\`, `?`, `#` or `%`, no segment over 255 bytes, also
# after NFKC folding. `False` means "either refused or written safely".
CORPUS: list[tuple[str, str, bool]] = [
    ("dotdot", "..", True),
    ("dot", ".", True),
    ("dotdot-other", f"../{OTHER}", True),
    ("deep-escape", f"a/../../{OTHER}", True),
    ("pct-dotdot", "%2e%2e", True),
    ("pct-dotdot-slash", f"%2E%2E%2F{OTHER}", True),
    ("dotdot-pct-slash", f"..%2f{OTHER}", True),
    ("pct-double", f"%2e%2e%2f%2e%2e%2f{OTHER}", True),
    ("pct-mixed", f".%2e/{OTHER}", True),
    ("pct-twice-encoded", f"%252e%252e%252f{OTHER}", True),
    ("backslash", f"..\\{OTHER}", True),
    ("backslash-deep", f"a\\..\\..\\{OTHER}", True),
    ("double-slash", "a//b", True),
    ("leading-double-slash", f"//{OTHER}", True),
    ("absolute", f"/{OTHER}", True),
    ("absolute-etc", "/etc", True),
    ("query", f"a?b=../../{OTHER}", True),
    ("fragment", f"a#../../{OTHER}", True),
    ("pct-nul", "a%00b", True),
    ("nul", "a\x00b", True),
    ("newline", "a\nb", True),
    ("cr", "a\rb", True),
    ("header-injection", "a\r\nX-Injected: 1", True),
    ("tab", "a\tb", True),
    ("semicolon-dotdot", f"..;/{OTHER}", True),
    ("spaced-dotdot", " .. ", True),
    ("fullwidth-dotdot-slash", f"．．／{OTHER}", True),
    ("fullwidth-dotdot", "．．", True),
    ("two-dot-leader", f"‥/{OTHER}", True),
    ("division-slash-leading", f"..∕{OTHER}", True),
    ("division-slash-inner", f"a∕..∕..∕{OTHER}", False),
    ("fullwidth-solidus", f"..／{OTHER}", True),
    ("fullwidth-solidus-inner", f"a／..／..／{OTHER}", True),
    ("rtl-override", f"\u202e{OTHER}", False),
    ("lone-surrogate", "a\udc80b", False),
    ("overlong-segment", "x" * 10240, True),
    ("overlong-deep", "a/" * 5119 + "a", True),
    ("tilde", f"~{OTHER}", False),
    ("other-user", OTHER, False),
    ("user-slash-other", f"user/{OTHER}", False),
]
FIELDS = ("directory", "filename", "workspace", "server")
# Many refused logins from one address on purpose: the failed-login limits are lifted.
UNLIMITED = {
    "LAUNCHER_FAILED_LOGINS_PER_USER": "10000/minute",
    "LAUNCHER_FAILED_LOGINS_PER_ADDRESS": "10000/minute",
}


def _is_dot_segment(raw: str) -> bool:
    """What browsers and servers take for `.` or `..` (WHATWG URL: `%2e` counts)."""
    return raw.lower().replace("%2e", ".") in (".", "..")


# -- the module's hub, proxy, launcher and users ----------------------------------------


@pytest.fixture(scope="module")
@needs_root
def iso_hub(tmp_path_factory):
    hub = Hub(
        tmp_path_factory.mktemp("isohub"),
        extra_config=(
            "c.JupyterHub.allow_named_servers = True\n"
            # answer a start at once, so the launcher follows the progress stream
            "c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}\n"
        ),
    ).start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def proxy(iso_hub):
    with RecordingProxy(iso_hub.url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def iso_launcher(iso_hub, proxy, tmp_path_factory):
    server = LauncherServer(
        tmp_path_factory.mktemp("isolauncher"),
        {"JUPYTERHUB_URL": proxy.url, "JUPYTERHUB_TOKEN": iso_hub.token, **UNLIMITED},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def me(iso_hub, make_user):
    return make_user(iso_hub, prefix="eltme")


@pytest.fixture(scope="module")
def other(iso_hub, make_user):
    return make_user(iso_hub, prefix="eltother")


@pytest.fixture(scope="module")
def outside(iso_hub, me):
    """Every file and folder of the hub's work tree outside `me`'s home, as it was."""
    return _tree_outside(iso_hub, me.name)


def _tree_outside(hub: Hub, name: str) -> set[str]:
    mine = hub.home(name).resolve()
    found = set()
    for dirpath, dirnames, filenames in os.walk(hub.workdir):
        for entry in dirnames + filenames:
            path = Path(dirpath, entry).resolve()
            if path == mine or mine in path.parents:
                continue
            if path.name.startswith("jupyterhub.sqlite") or path.name == "jupyterhub.log":
                continue
            found.add(str(path.relative_to(hub.workdir.resolve())))
    return found


# -- what the launcher may send to the hub ---------------------------------------------

HUB_USER = re.compile(r"/hub/api/users/(?P<user>[^/?#]+)(?P<rest>/.*)?")
CONTENTS = re.compile(
    r"/user/(?P<user>[^/?#]+)/(?:(?P<server>[^/?#]+)/)?api/contents(?P<path>/.*)?"
)


def _check_segment(raw: str, context: str) -> str:
    value = unquote(raw, errors="strict")
    assert raw, f"empty segment in {context}"
    assert not _is_dot_segment(raw) and value not in (".", ".."), f"dot segment in {context}"
    assert "/" not in value and "\\" not in value, f"encoded separator in {context}"
    assert "\x00" not in value, f"NUL in {context}"
    return value


def assert_only_own_calls(records, me: str, server: str = "", allow_identify: bool = False):
    """Every recorded hub call is one of the launcher's own, for `me` (and `server`)."""
    own = quote(me, safe="")
    for record in records:
        context = f"{record.method} {record.target!r}"
        path, query = record.path, record.query
        assert "\r" not in record.target and "\n" not in record.target, context
        if allow_identify and path == "/hub/api/user":
            assert record.method == "GET" and not query, context
            continue
        match = HUB_USER.fullmatch(path)
        if match:
            assert match["user"] == own, f"another user's hub API: {context}"
            assert not query, context
            rest = match["rest"] or ""
            if rest in ("", "/server", "/server/progress"):
                assert not server or rest == "", f"default server used for {server!r}: {context}"
                assert record.method == ("POST" if rest == "/server" else "GET"), context
                continue
            named = re.fullmatch(r"/servers/([^/]+)(/progress)?", rest)
            assert named, f"unexpected hub API call: {context}"
            assert _check_segment(named[1], context) == server, context
            assert record.method == ("GET" if named[2] else "POST"), context
            continue
        match = CONTENTS.fullmatch(path)
        assert match, f"not a call the launcher should make: {context}"
        assert match["user"] == own, f"another user's server: {context}"
        if match["server"] is not None:
            assert _check_segment(match["server"], context) == server, context
        else:
            assert server == "", f"default server's contents used for {server!r}: {context}"
        assert record.method in ("GET", "PUT", "PATCH", "DELETE"), context
        assert query in ("", "content=0"), context
        segments = [_check_segment(s, context) for s in (match["path"] or "/")[1:].split("/")]
        if record.method == "PATCH":
            destination = json.loads(record.body)["path"]
            parts = destination.split("/")
            for part in parts:
                assert part not in ("", ".", ".."), f"rename outside the folder: {context}"
                assert "\\" not in part and "\x00" not in part, context
            assert parts[:-1] == segments[:-1], f"rename into another folder: {context}"


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, (field, response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    name = f"notebook.{field}"
    if body.get("code") == "invalid-path":
        assert body.get("field") == name, body
    else:
        # Connexion's own validation problem: no code, names the field in its detail.
        assert body.get("type", "about:blank") == "about:blank", body
        assert name in body.get("detail", "") or field in body.get("detail", ""), body


def written_file(hub: Hub, proxy: RecordingProxy, user: str, location: str) -> Path:
    """The file a location points at, checked to be inside `user`'s home."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == proxy.url, location
    assert not parts.query and not parts.fragment, location
    raw = parts.path.split("/")
    assert raw[:3] == ["", "user", quote(user, safe="")], location
    for segment in raw[1:]:
        assert segment and not _is_dot_segment(segment), location
    tree = re.fullmatch(r"/user/[^/]+/(?:[^/]+/)?lab/workspaces/[^/]+/tree/(.+)", parts.path)
    assert tree, location
    relative = [unquote(s) for s in tree[1].split("/")]
    home = hub.home(user).resolve()
    path = home.joinpath(*relative)
    assert path.resolve().is_relative_to(home), location
    assert path.is_file(), f"{location}: {path} was not written"
    return path


def launch(launcher, proxy, body, auth, **kwargs):
    proxy.clear()
    response = launcher.post("/hello", body, auth, **kwargs)
    return response, proxy.snapshot()


# -- a cold start, observed ----------------------------------------------------------


def test_cold_start_goes_through_the_recorder(iso_hub, proxy, iso_launcher, me):
    """First of the module: the recorder sees the whole launch, progress stream included,
    and streams the hub's events through to the launcher as they come."""
    proxy.clear()
    response = iso_launcher.post(
        "/hello",
        example("hello", directory="cold"),
        me.auth,
        headers={"Accept": "text/event-stream"},
    )
    records = proxy.snapshot()
    assert response.status_code == 200, response.text
    assert "event: launched" in response.text, response.text
    location = json.loads(response.text.strip().split("\n\n")[-1].split("data: ", 1)[1])
    written_file(iso_hub, proxy, me.name, location["location"])
    paths = [(r.method, r.path) for r in records]
    assert ("POST", f"/hub/api/users/{me.name}/server") in paths
    assert ("GET", f"/hub/api/users/{me.name}/server/progress") in paths
    assert any(r.method == "PUT" and r.path.startswith(f"/user/{me.name}/api/contents/")
               for r in records)  # fmt: skip
    assert_only_own_calls(records, me.name)


# -- the corpus --------------------------------------------------------------------------


def _value(field: str, template: str, other: str) -> str:
    value = template.replace(OTHER, other)
    if field == "filename" and not value.endswith(".ipynb"):
        value += ".ipynb"
    return value


def _corpus_params():
    return [pytest.param(value, refuse, id=name) for name, value, refuse in CORPUS]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("template, must_refuse", _corpus_params())
def test_hostile_value_stays_with_the_caller(
    iso_hub, proxy, iso_launcher, me, other, outside, field, template, must_refuse
):
    value = _value(field, template, other.name)
    notebook = {"directory": "iso", field: value}
    response, records = launch(iso_launcher, proxy, {"notebook": notebook}, me.auth)
    assert response.status_code < 500, response.text[:500]
    assert_only_own_calls(records, me.name, server=value if field == "server" else "")
    if response.status_code == 200:
        assert not must_refuse, (
            f"the README says {field} {value!r} is refused, but it was written: {response.json()}"
        )
        path = written_file(iso_hub, proxy, me.name, response.json()["location"])
        if field == "filename":
            assert path.name == value or path.name.startswith(value[: -len(".ipynb")] + "-")
        if field == "directory":
            assert path.parent == iso_hub.home(me.name).resolve().joinpath(*value.split("/"))
        if field == "workspace":
            location = response.json()["location"]
            assert f"/lab/workspaces/{quote(value, safe='')}/tree/" in location
    elif field == "server" and response.json().get("code") == "server-refused":
        # The hub's own refusal of a server name: the name went to `me`'s API only.
        assert not must_refuse, (
            f"server {value!r} reached the hub; the launcher should refuse it itself"
        )
    else:
        assert_refused(response, field)
        assert records == [], "refused, yet the hub was called"
    assert _tree_outside(iso_hub, me.name) == outside, "something was written elsewhere"


# -- headers that name someone else -----------------------------------------------------


def test_headers_naming_the_other_user_change_nothing(iso_hub, proxy, iso_launcher, me, other):
    evil = "http://evil.example"
    headers = {
        "X-Forwarded-User": other.name,
        "X-Remote-User": other.name,
        "Remote-User": other.name,
        "X-User": other.name,
        "X-Auth-Request-User": other.name,
        "X-Forwarded-Preferred-Username": other.name,
        "X-JupyterHub-User": other.name,
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": f"/user/{other.name}",
        "X-Forwarded-For": "10.0.0.1",
        "X-Real-IP": "10.0.0.1",
        "X-Original-URL": f"/user/{other.name}/api/contents",
        "X-Rewrite-URL": f"/user/{other.name}/api/contents",
        "Forwarded": f'for=10.0.0.1;host=evil.example;by="{other.name}"',
        "Origin": f"{evil}/user/{other.name}",
        "Referer": f"{evil}/user/{other.name}/lab",
        "Cookie": f"jupyterhub-user-{other.name}=x; jupyterhub-session-id=y",
    }
    response, records = launch(
        iso_launcher, proxy, example("hello", directory="headers"), me.auth, headers=headers
    )
    assert response.status_code == 200, response.text
    location = response.json()["location"]
    written_file(iso_hub, proxy, me.name, location)
    assert "evil" not in location and other.name not in location
    assert records, "the launch made no hub call at all?"
    assert_only_own_calls(records, me.name)
    for record in records:
        for name in headers:
            if name in ("X-Forwarded-For",):
                continue
            value = record.header(name)
            assert value is None or other.name not in value, (name, value, record.target)
        assert record.header("Cookie") is None, record.target
    assert not (iso_hub.home(other.name) / "headers").exists()


# -- credentials that try to be someone else --------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    raw = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


BODY = {"notebook": {"directory": "creds"}}


@pytest.fixture(scope="module")
def colon_user(iso_hub, make_user):
    """A user whose password has colons in it (Basic splits at the first colon only)."""
    user = make_user(prefix="eltcolon")
    user.password = "x:" + user.password + ":y:"
    subprocess.run(["chpasswd"], input=f"{user.name}:{user.password}\n", text=True, check=True)
    iso_hub.login(user)
    return user


def test_password_with_colons_works(iso_hub, proxy, iso_launcher, colon_user):
    response, records = launch(
        iso_launcher, proxy, BODY, None, headers=_basic(colon_user.name, colon_user.password)
    )
    assert response.status_code == 200, response.text
    written_file(iso_hub, proxy, colon_user.name, response.json()["location"])
    assert_only_own_calls(records, colon_user.name)


def _credential_tricks(me, other, colon_user) -> dict[str, dict[str, str]]:
    """Authorization headers that must all be refused with 401 and no hub call."""
    b64 = lambda raw: {"Authorization": "Basic " + base64.b64encode(raw).decode()}  # noqa: E731
    cases = {
        "other's name, my password": _basic(other.name, me.password),
        "my name, my password + ':other'": _basic(me.name, f"{me.password}:{other.name}"),
        "'other:me' as name, my password": _basic(f"{other.name}:{me.name}", me.password),
        "colon password cut at 2nd colon": _basic(colon_user.name, "x"),
        "colon password, first part only": _basic(colon_user.name, "x:"),
        "colon password without trailing colon": _basic(
            colon_user.name, colon_user.password.rstrip(":")
        ),
        "no scheme payload": {"Authorization": "Basic"},
        "empty payload": {"Authorization": "Basic "},
        "not base64": {"Authorization": "Basic !!!notbase64!!!"},
        "no colon": b64(b"no-colon-here"),
        "invalid UTF-8": b64(b"\xff\xfe:\xff"),
        "empty password": _basic(me.name, ""),
        "empty name": _basic("", me.password),
        "digest scheme": {"Authorization": f"Digest username={me.name}"},
    }
    for template in (
        "../{me}",
        "{me}/../{other}",
        "{other}/../{me}",
        "./{me}",
        "{me}/",
        "/{me}",
        "{me}\x00{other}",
        "{me}\n{other}",
        "{me}\r\nX-Forwarded-User: {other}",
        "..",
        "{me}%00",
        "%2e%2e/{me}",
        "{me}\\..\\{other}",
    ):
        name = template.format(me=me.name, other=other.name)
        cases[f"user name {name!r}"] = _basic(name, me.password)
    return cases


def test_credential_tricks_are_refused(proxy, iso_launcher, me, other, colon_user):
    """All at once (a refused PAM check takes ~3 s): each 401 with a Basic challenge, and
    not one call to the hub while they ran."""
    cases = _credential_tricks(me, other, colon_user)

    def attempt(headers):
        return iso_launcher.post("/hello", BODY, None, headers=headers)

    proxy.clear()
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        responses = dict(zip(cases, pool.map(attempt, cases.values()), strict=True))
    wrong = {}
    for name, response in responses.items():
        ok = (
            response.status_code == 401
            and response.headers.get("Content-Type", "").startswith("application/problem+json")
            and response.headers.get("WWW-Authenticate", "").startswith("Basic")
        )
        if not ok:
            wrong[name] = (response.status_code, response.text[:200])
    assert wrong == {}
    assert [r.target for r in proxy.snapshot()] == []


def test_two_authorization_headers_never_act_as_the_other(iso_hub, proxy, iso_launcher, me, other):
    mine = _basic(me.name, me.password)["Authorization"]
    theirs = _basic(other.name, me.password)["Authorization"]
    for order in ((mine, theirs), (theirs, mine)):
        proxy.clear()
        host, port = urlsplit(iso_launcher.url).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        body = json.dumps({"notebook": {"directory": "twoheaders"}}).encode()
        conn.putrequest("POST", "/hello")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        for value in order:
            conn.putheader("Authorization", value)
        conn.endheaders(body)
        response = conn.getresponse()
        status, text = response.status, response.read().decode()
        conn.close()
        assert status in (200, 400, 401), (status, text)
        records = proxy.snapshot()
        assert_only_own_calls(records, me.name)
        if status == 200:
            assert f"/user/{me.name}/" in json.loads(text)["location"]
    assert not (iso_hub.home(other.name) / "twoheaders").exists()


def test_launchers_own_hub_token_is_no_user(iso_hub, proxy, iso_launcher):
    """The service's token, offered as a caller's token, identifies nobody."""
    for header in (f"token {iso_hub.token}", f"Bearer {iso_hub.token}"):
        proxy.clear()
        response = iso_launcher.post("/hello", BODY, None, headers={"Authorization": header})
        assert response.status_code == 401, (header[:6], response.text[:300])
        for record in proxy.snapshot():
            assert record.path == "/hub/api/user", record.target


def test_the_token_of_a_user_acts_as_that_user_only(iso_hub, proxy, iso_launcher, me, other):
    """A user's own hub token (tokens are accepted by default) launches for them only."""
    reply = iso_hub.admin("POST", f"/users/{me.name}/tokens", json={"note": "isolation"})
    assert reply.status_code in (200, 201), reply.text
    token = reply.json()["token"]
    leakscan.register_secret(token)
    proxy.clear()
    response = iso_launcher.post(
        "/hello",
        {"notebook": {"directory": "bytoken"}},
        None,
        headers={"Authorization": f"token {token}", "X-Forwarded-User": other.name},
    )
    records = proxy.snapshot()
    assert response.status_code == 200, response.text
    written_file(iso_hub, proxy, me.name, response.json()["location"])
    assert_only_own_calls(records, me.name, allow_identify=True)
    identify = [r for r in records if r.path == "/hub/api/user"]
    assert all(r.header("Authorization") == f"token {token}" for r in identify)
    # The caller's token is only used to ask who they are, never for the launch itself.
    for record in records:
        if record.path != "/hub/api/user":
            assert record.header("Authorization") == f"token {iso_hub.token}", record.target


def test_preview_sends_nothing_to_the_hub(proxy, iso_launcher, me, other):
    """`Accept: application/x-ipynb+json` only builds the notebook: no hub call at all."""
    proxy.clear()
    response = iso_launcher.post(
        "/hello",
        {"notebook": {"directory": f"../{other.name}", "server": other.name}},
        me.auth,
        headers={"Accept": "application/x-ipynb+json", "X-Forwarded-User": other.name},
    )
    assert response.status_code == 400, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid-path", response.text[:300]
    response = iso_launcher.post(
        "/hello",
        example("hello", directory="preview"),
        me.auth,
        headers={"Accept": "application/x-ipynb+json", "X-Forwarded-User": other.name},
    )
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/x-ipynb+json")
    notebook = response.json()
    assert notebook["nbformat"] == 4, response.text[:300]
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert any("hello world" in source for source in sources), sources
    assert proxy.snapshot() == []


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_only_json_bodies_launch(proxy, iso_launcher, me, content_type):
    """A browser form can POST text/plain, form-encoded or multipart bodies to another site
    and sends the credentials it has cached for it: such a body must never launch (the
    cross-site form would choose what is written into the caller's server)."""
    body = json.dumps(example("opendap", directory="csrf")).encode()
    headers = dict(me_basic(me))
    if content_type:
        headers["Content-Type"] = content_type
    proxy.clear()
    response = requests.post(f"{iso_launcher.url}/opendap", data=body, headers=headers, timeout=60)
    assert response.status_code in (400, 415), (response.status_code, response.text[:300])
    assert proxy.snapshot() == []


def me_basic(user) -> dict[str, str]:
    return _basic(user.name, user.password)
