"""Jupyter notebooks for each launcher operation, built from validated request bodies.

Request values only ever appear as Python literals in the notebook's
``parameters`` cell; see :mod:`.cells`.
"""

from collections.abc import Callable

from nbformat import NotebookNode

from . import assessment, bmi, hello, opendap, threeclickscience

_BUILDERS: dict[str, Callable[[dict], NotebookNode]] = {
    "hello": hello.build,
    "opendap": opendap.build,
    "threeclickscience": threeclickscience.build,
    "bmi": bmi.build,
    "assessment": assessment.build,
}

KINDS = tuple(_BUILDERS)


def build(kind: str, body: dict) -> NotebookNode:
    """Notebook for the operation ``kind`` (one of KINDS) and its request body.

    Raises KeyError for an unknown kind and ValueError for a body the
    notebook cannot represent (non-finite numbers, unsupported formats).
    """
    return _BUILDERS[kind](body)
