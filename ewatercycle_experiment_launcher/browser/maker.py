"""The link maker: a form per operation, generated from its request schema, whose values
the launcher itself turns into the link (`links`), with its preview and badge snippets."""

from __future__ import annotations

import functools
from html import escape
from typing import Any

from connexion.exceptions import ProblemException
from flask import redirect, render_template

from .. import links
from ..problems import LauncherProblem
from .pages import checked_body, preview_cells
from .site import blueprint, launcher_url, problem_json, problem_page, site

BADGE = "launch/static/badge.svg"
BADGE_TEXT = "Open in eWaterCycle"


@functools.cache
def form_fields(operation: str) -> tuple[dict[str, Any], ...]:
    """The form's inputs: every field a link can carry, with what the schema says of it."""
    schema = links.request_schema(operation)
    return tuple(
        {
            "name": name,
            "type": leaf["type"],
            "enum": leaf.get("enum"),
            "required": _required(schema, name),
            "description": leaf.get("description", ""),
            "example": leaf.get("example", leaf.get("default", "")),
        }
        for name, leaf in links.fields(operation).items()
    )


def _required(schema: dict[str, Any], name: str) -> bool:
    """Whether the body must have `name`: it and every group around it are required."""
    node = schema
    for part in name.split("."):
        if part not in node.get("required", ()):
            return False
        node = node["properties"][part]
    return True


@blueprint.get("/launch/")
def link_maker() -> Any:
    try:
        user = site().login.user()
    except ProblemException as problem:
        return problem_page(problem)
    if user is None:
        return redirect(site().login.login_url(None, ""))
    forms = {operation: form_fields(operation) for operation in links.operations()}
    return render_template("maker.html", base=site().base, user=user, forms=forms)


@blueprint.get("/launch/preview/<operation>")
def link_preview(operation: str) -> Any:
    """The link for the form's values (sent as a link's query), its preview and badges."""
    try:
        if site().login.user() is None:
            raise LauncherProblem("unauthorized", "Log in again: reload the page")
        body = checked_body(operation)
        filename, notebook = site().state.launcher.preview(operation, body)
    except ProblemException as problem:
        return problem_json(problem)
    link = links.link(launcher_url(), operation, body)
    badge = launcher_url() + BADGE
    return {
        "link": link,
        "filename": filename,
        "cells": preview_cells(notebook),
        "markdown": f"[![{BADGE_TEXT}]({badge})]({link})",
        "html": f'<a href="{escape(link)}"><img src="{escape(badge)}" alt="{BADGE_TEXT}"></a>',
    }
