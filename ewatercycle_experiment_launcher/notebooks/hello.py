"""Notebook that proves the launch path works end to end."""

from nbformat import NotebookNode

from .cells import notebook


def build(body: dict) -> NotebookNode:
    """The body carries no values for this notebook."""
    return notebook({"greeting": "hello world"}, ["hello_intro", "hello_greet"])
