"""The spec's `operationId`s and the handlers that serve them.

Short, stable ids give generated clients readable names (`launch_hello.sync(...)`);
this table, Connexion's resolver, ties them to the code, so handlers can move without
a change to the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import assessment, bmi, hello, opendap, service, threeclickscience

HANDLERS: dict[str, Callable[..., Any]] = {
    "launchHello": hello.post,
    "launchOpendap": opendap.post,
    "launchThreeClickScience": threeclickscience.post,
    "launchBmi": bmi.post,
    "launchAssessment": assessment.post,
    "health": service.health,
    "metrics": service.metrics,
}


def resolve(operation_id: str) -> Callable[..., Any]:
    """Connexion's function resolver: an unknown id stops start-up with its name."""
    try:
        return HANDLERS[operation_id]
    except KeyError:
        raise ValueError(f"no handler for operationId {operation_id!r}") from None
