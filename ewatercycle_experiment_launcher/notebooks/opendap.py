"""Notebook that opens a remote dataset over OPeNDAP."""

from nbformat import NotebookNode

from .cells import notebook


def build(body: dict) -> NotebookNode:
    """The URL comes from the body's ``opendap`` field."""
    return notebook({"opendap_url": body["opendap"]}, ["opendap_intro", "opendap_open"])
