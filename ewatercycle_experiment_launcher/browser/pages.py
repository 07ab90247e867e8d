"""The launch page of a link, its launch, and the return from the hub's login.

A GET shows what the link would launch and never launches; the launch is the page's
POST to the same link, refused without the session's CSRF token, so another site cannot
launch for a user. The user is always the session's: a link names no user.
"""

from __future__ import annotations

from typing import Any

from connexion.exceptions import ProblemException
from flask import Response, redirect, render_template, request, stream_with_context
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from .. import links
from ..events import MEDIA_TYPE, launch_events, wants_events
from ..problems import LauncherProblem
from . import linkbody
from .oauth import LoginFailed
from .site import blueprint, plain_problem, problem_json, problem_page, site

CSRF_HEADER = "X-CSRFToken"


def _not_found(operation: str) -> ProblemException:
    return plain_problem(404, "Not Found", f"There is no launch operation {operation!r}")


def checked_body(operation: str) -> dict[str, Any]:
    if operation not in links.operations():
        raise _not_found(operation)
    return linkbody.body_from_query(operation, request.query_string)


@blueprint.get("/launch/<operation>")
def launch_page(operation: str) -> Any:
    try:
        body = checked_body(operation)
        filename, notebook = site().state.launcher.preview(operation, body)
        user = site().login.user()
    except ProblemException as problem:
        return problem_page(problem)
    if user is None:
        return redirect(site().login.login_url(operation, request.query_string.decode()))
    return render_template(
        "launch.html",
        base=site().base,
        user=user,
        operation=operation,
        notebook=body["notebook"],
        filename=filename,
        cells=preview_cells(notebook),
        csrf_token=generate_csrf(),
    )


def preview_cells(notebook: dict[str, Any]) -> list[dict[str, str]]:
    """Each cell's kind and text, to be shown, never run."""
    cells = []
    for cell in notebook["cells"]:
        source = cell["source"]
        cells.append(
            {
                "kind": cell["cell_type"],
                "source": "".join(source) if isinstance(source, list) else source,
            }
        )
    return cells


@blueprint.post("/launch/<operation>")
def launch(operation: str) -> Any:
    try:
        validate_csrf(request.headers.get(CSRF_HEADER))
    except ValidationError as error:
        detail = f"{error.args[0] if error.args else 'Bad CSRF token.'} Reload the page."
        return problem_json(plain_problem(403, "Forbidden", detail))
    try:
        body = checked_body(operation)
        user = site().login.user()
        if user is None:
            raise LauncherProblem("unauthorized", "Log in again: reload the page")
        launcher = site().state.launcher
        plan = launcher.prepare(operation, body, user, request.headers.get("Origin"))
        if wants_events(request.headers.get("Accept")):
            return Response(
                stream_with_context(launch_events(launcher, plan)),
                mimetype=MEDIA_TYPE,
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return {"location": launcher.run(plan)}
    except ProblemException as problem:
        return problem_json(problem)


@blueprint.get("/oauth_callback")
def oauth_callback() -> Any:
    try:
        operation, query = site().login.finish(request.args)
    except LoginFailed as failure:
        return problem_page(plain_problem(403, "Login failed", str(failure)))
    except ProblemException as problem:
        return problem_page(problem)
    return redirect(page_path(operation, query))


def page_path(operation: str | None, query: str) -> str:
    """The launch page to return to after login: of this launcher, whatever was saved."""
    base = site().base
    if operation in links.operations():
        return f"{base}launch/{operation}" + (f"?{query}" if query else "")
    return f"{base}launch/"
