"""Launch links in the application itself, with a stand-in hub: what a link is checked
against, what the session cookie and the login redirect look like, and what is refused.
The journey through a real hub and a real browser is in tests/test_browser_launch.py."""

from __future__ import annotations

import json
import logging
import re
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from bs4 import BeautifulSoup

from ewatercycle_experiment_launcher import links
from ewatercycle_experiment_launcher.browser import oauth
from ewatercycle_experiment_launcher.browser.site import EXTENSION, SESSION_COOKIE

from .examples import EXAMPLES, example
from .inprocess import StubHub, make_app
from .test_isolation import CORPUS, FIELDS, _value

TOKEN = "f0" * 16  # alice's own hub token, for the API
ACCESS = "access:services!service=experiment-launcher"


class StubHubOAuth:
    """In place of the hub's answer to "whose OAuth token is this?"."""

    def __init__(self, users: dict[str, dict]) -> None:
        self.users = users

    def __call__(self, token: str, **_kwargs) -> dict | None:
        return self.users.get(token)


@pytest.fixture
def app():
    return make_app(StubHub({TOKEN: "alice"}))


@pytest.fixture
def client(app):
    return app.test_client()


def log_in(app, client, name: str = "alice", scopes=(ACCESS,)) -> None:
    """A session as the hub's OAuth login leaves it, the hub answering for its token."""
    flask_app = app.app
    login = flask_app.extensions[EXTENSION].login
    login.auth.user_for_token = StubHubOAuth(
        {f"oauth-{name}": {"name": name, "scopes": list(scopes)}}
    )
    cookie = flask_app.session_interface.get_signing_serializer(flask_app).dumps(
        {oauth.TOKEN: f"oauth-{name}"}
    )
    client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local", path="/")


def link_path(operation: str, body: dict) -> str:
    return f"/launch/{operation}?{links.to_query(operation, body)}"


def shown_problem(response) -> tuple[str, str]:
    page = BeautifulSoup(response.text, "html.parser")
    return page.select_one("#problem-title").get_text(), page.select_one(
        "#problem-detail"
    ).get_text()


# -- what a link is checked against ----------------------------------------------------


def _hostile():
    for name, template, refused in CORPUS:
        if refused:
            for field in FIELDS:
                yield pytest.param(field, _value(field, template, "bob"), id=f"{field}-{name}")


@pytest.mark.parametrize("field, value", _hostile())
def test_a_hostile_link_gets_the_apis_400_without_a_login(client, field, value):
    body = {"notebook": {"directory": "iso", field: value}}
    page = client.get(link_path("hello", body))
    api = client.post("/hello", json=body, headers={"Authorization": f"token {TOKEN}"})
    assert api.status_code == 400, api.text
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    title, detail = shown_problem(page)
    assert (title, detail) == (api.json()["title"], api.json()["detail"])
    assert "Traceback" not in page.text


@pytest.mark.parametrize(
    "operation, query",
    [
        ("hello", "notebook.directory=x&extra=1"),  # a field the schema does not have
        ("hello", "notebook.filename=a.ipynb"),  # the required directory is missing
        ("bmi", links.to_query("bmi", EXAMPLES["bmi"]).replace("format=svn", "format=cvs")),
        ("hello", "notebook.directory=x&notebook.overwrite=yes"),  # not a boolean
    ],
)
def test_a_link_the_schema_refuses_gets_the_apis_400(client, operation, query):
    page = client.get(f"/launch/{operation}?{query}")
    assert page.status_code == 400
    title, detail = shown_problem(page)
    assert title == "Bad Request" and detail
    body = None
    try:
        body = links.from_query(operation, links.parse_query(query))
    except links.LinkError as error:
        assert detail == str(error)
    if body is not None:
        api = client.post(f"/{operation}", json=body, headers={"Authorization": f"token {TOKEN}"})
        assert api.status_code == 400 and api.json()["detail"] == detail


def test_an_unknown_operation_is_not_found(client):
    response = client.get("/launch/nothing?notebook.directory=x")
    assert response.status_code == 404
    assert shown_problem(response)[0] == "Not Found"


# -- logging in through the hub --------------------------------------------------------


def test_a_logged_out_visitor_goes_to_the_hubs_authorization_with_pkce(client):
    query = links.to_query("opendap", example("opendap", directory="a"))
    response = client.get(f"/launch/opendap?{query}", follow_redirects=False)
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        "http://127.0.0.1:9/hub/api/oauth2/authorize"
    )
    params = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert params["client_id"] == "service-experiment-launcher"
    assert params["redirect_uri"] == "/oauth_callback"
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert len(params["state"]) >= 20
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert re.search(r"; HttpOnly", cookie) and re.search(r"; SameSite=Lax", cookie)
    assert "; Path=/" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_and_on_the_services_path_behind_https():
    app = make_app(
        JUPYTERHUB_PUBLIC_HUB_URL="https://hub.example.org",
        BASE_PATH="/services/experiment-launcher",
    )
    client = app.test_client()
    response = client.get(
        "/services/experiment-launcher/launch/hello?notebook.directory=x", follow_redirects=False
    )
    cookie = response.headers["set-cookie"]
    assert "; Secure" in cookie and "; Path=/services/experiment-launcher/" in cookie
    location = response.headers["location"]
    assert location.startswith("https://hub.example.org/hub/api/oauth2/authorize?")
    redirect = parse_qs(urlsplit(location).query)["redirect_uri"][0]
    assert redirect == "/services/experiment-launcher/oauth_callback"


def test_a_callback_that_was_not_started_here_is_refused(client):
    response = client.get("/oauth_callback?code=abc&state=forged")
    assert response.status_code == 403
    assert shown_problem(response)[0] == "Login failed"
    client.get("/launch/hello?notebook.directory=x", follow_redirects=False)  # starts a login
    response = client.get("/oauth_callback?code=abc&state=forged")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "saved", [("hello", "notebook.directory=x"), (None, ""), ("//evil.example", "")]
)
def test_after_login_only_a_launch_page_of_this_launcher(app, saved):
    with app.app.test_request_context("/oauth_callback"):
        from ewatercycle_experiment_launcher.browser.pages import page_path

        path = page_path(*saved)
    assert path.startswith("/launch/") and "evil" not in path


def test_a_logged_in_user_sees_the_launch_page_with_the_preview(app, client):
    log_in(app, client)
    body = example("opendap", directory="links", filename="wasser-水.ipynb")
    body["opendap"] = "http://example.org/data?name=%C3%A9&x=1#part"
    response = client.get(link_path("opendap", body))
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("#user").get_text() == "alice"
    assert page.select_one("#target-directory").get_text() == "links"
    assert page.select_one("#target-filename").get_text().startswith("wasser-水.ipynb")
    assert page.select_one("#target-server").get_text() == "your default server"
    cells = [cell.get_text() for cell in page.select(".cells pre")]
    assert any(repr(body["opendap"]) in cell for cell in cells), cells
    assert page.select_one("#launch-form")["data-csrf"]
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_user_without_the_access_scope_is_sent_to_log_in(app, client):
    log_in(app, client, scopes=("read:users:name!user=alice",))
    response = client.get("/launch/hello?notebook.directory=x", follow_redirects=False)
    assert (
        response.status_code == 302 and "/hub/api/oauth2/authorize" in response.headers["location"]
    )


def test_the_access_log_names_the_sessions_user(app, client, caplog):
    with caplog.at_level(logging.INFO, logger="ewatercycle_experiment_launcher.access"):
        client.get("/launch/hello?notebook.directory=x", follow_redirects=False)
        log_in(app, client)
        client.get("/launch/hello?notebook.directory=x")
        client.get("/launch/")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith(".access")]
    assert [(line["user"], line["operation"], line["status"]) for line in lines] == [
        (None, "GET /launch/hello", 302),
        ("alice", "GET /launch/hello", 200),
        ("alice", "GET /launch/", 200),
    ]


# -- launching ---------------------------------------------------------------------------


def csrf_token(app, client, query: str = "notebook.directory=x") -> str:
    page = client.get(f"/launch/hello?{query}")
    assert page.status_code == 200, page.text
    return BeautifulSoup(page.text, "html.parser").select_one("#launch-form")["data-csrf"]


@pytest.mark.parametrize("token", [None, "", "forged", "other-session"])
def test_a_launch_without_the_sessions_token_is_forbidden(app, client, token):
    log_in(app, client)
    csrf_token(app, client)
    if token == "other-session":
        other = app.test_client()
        log_in(app, other, "bob")
        token = csrf_token(app, other)
    headers = {"X-CSRFToken": token} if token is not None else {}
    response = client.post("/launch/hello?notebook.directory=x", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Forbidden"


def test_a_launch_with_the_token_but_a_hostile_link_is_the_apis_400(app, client):
    log_in(app, client)
    token = csrf_token(app, client)
    response = client.post(
        f"/launch/hello?notebook.directory={quote('../bob')}", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-path"


# -- the link maker ----------------------------------------------------------------------


def test_the_maker_has_a_field_for_every_field_of_every_operation(app, client):
    log_in(app, client)
    response = client.get("/launch/")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    for operation in links.operations():
        fieldset = page.select_one(f"fieldset[data-operation={operation}]")
        names = [element["name"] for element in fieldset.select("input, select")]
        assert names == list(links.fields(operation)), operation


@pytest.mark.parametrize("operation", list(EXAMPLES))
def test_the_maker_makes_the_link_of_the_forms_values(app, client, operation):
    log_in(app, client)
    body = EXAMPLES[operation]
    query = links.to_query(operation, body)
    response = client.get(f"/launch/preview/{operation}?{query}")
    assert response.status_code == 200, response.text
    made = response.json()
    link = urlsplit(made["link"])
    assert link.path == f"/launch/{operation}"
    assert links.from_query(operation, links.parse_query(link.query)) == body
    badge = made["link"].split("/launch/")[0] + "/launch/static/badge.svg"
    assert made["markdown"] == f"[![Open in eWaterCycle]({badge})]({made['link']})"
    assert unescape(re.search(r'href="([^"]+)"', made["html"]).group(1)) == made["link"]
    assert made["cells"] and made["filename"] == "experiment.ipynb"


def test_the_badge_and_scripts_are_served_by_the_launcher(client):
    for name, kind in [
        ("badge.svg", "image/svg+xml"),
        ("launch.js", "text/javascript"),
        ("style.css", "text/css"),
    ]:
        response = client.get(f"/launch/static/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
