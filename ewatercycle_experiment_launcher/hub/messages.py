"""What the hub's English messages say where its status code alone does not.

Starting a server that is running, or still stopping, both answer 400; only the message
tells them apart from a refusal. Checked against the source of JupyterHub 5.5.4 and
6.1.1 (`jupyterhub/apihandlers/users.py`, `UserServerAPIHandler.post`: "{name} is
already running", "{name} is pending {pending}"), and against both hubs running
(tests/test_hub_faults.py, tests/test_launch_real_hub.py). Where the two differ, they do
so in status codes and scopes, not in these words: the other answers the launcher reads
(404 for an unknown user, 429 with Retry-After, the progress stream, "Named servers are
not enabled.") are the same in both. A release that words these otherwise gets a row of
its own here, never a check elsewhere.
"""

from __future__ import annotations

import requests

from .errors import hub_message

ALREADY_RUNNING = "already running"
PENDING_STOP = "pending stop"

# (what the hub means, text its 400 message contains, versions seen saying so)
START_MESSAGES: tuple[tuple[str, str, str], ...] = (
    (ALREADY_RUNNING, "already running", "5.5.4, 6.1.1"),
    (PENDING_STOP, "is pending stop", "5.5.4, 6.1.1"),
)


def start_answer(response: requests.Response) -> str | None:
    """ALREADY_RUNNING, PENDING_STOP, or None for any other answer to a start."""
    if response.status_code != 400:
        return None
    message = hub_message(response)
    for meaning, text, _versions in START_MESSAGES:
        if text in message:
            return meaning
    return None
