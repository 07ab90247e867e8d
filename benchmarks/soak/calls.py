"""The requests the soak's clients make, each filling in a `Record` with what came back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from ewatercycle_experiment_launcher.problems import CATALOGUE

from .records import ABANDONED, NO_ANSWER, NOTEBOOK, OK, OTHER, PROBLEM, Record

TIMEOUT = 400  # past the launcher's own spawn and hub timeouts: it answers first
EVENTS = "text/event-stream"
PREVIEW = "application/x-ipynb+json"
Auth = tuple[str, str]
Clock = Callable[[], float]


def body(record: Record) -> dict[str, Any]:
    """An /opendap request whose notebook carries the record's marker in its URL."""
    notebook = {"directory": record.directory}
    if record.filename:
        notebook["filename"] = record.filename
    return {"notebook": notebook, "opendap": f"http://127.0.0.1:9/soak/{record.marker}.nc"}


def catalogued(status: int, data: Any) -> str:
    """The problem's code when it is one of the catalogue's, with its status; else ''."""
    code = data.get("code") if isinstance(data, dict) else None
    if isinstance(code, str) and CATALOGUE.get(code, (None,))[0] == status:
        return code
    return ""


def _problem(record: Record, response: requests.Response) -> None:
    try:
        data = response.json()
    except ValueError:
        data = None
    code = ""
    if "application/problem+json" in response.headers.get("Content-Type", ""):
        code = catalogued(response.status_code, data)
    record.result, record.code = (PROBLEM, code) if code else (OTHER, response.text[:60])
    if isinstance(data, dict):
        record.detail = str(data.get("detail", ""))[:300]


def _call(record: Record, clock: Clock, send: Callable[[], None]) -> None:
    """Runs `send`, which fills in the answer; a failed connection is NO_ANSWER."""
    try:
        send()
    except (requests.exceptions.InvalidJSONError, ValueError):
        record.result, record.code = OTHER, "not the JSON documented"
    except requests.RequestException as exc:
        record.result, record.code = NO_ANSWER, type(exc).__name__
    record.ended = clock()


def launch_json(s: requests.Session, url: str, auth: Auth, record: Record, clock: Clock) -> None:
    def send() -> None:
        r = s.post(f"{url}/opendap", json=body(record), auth=auth, timeout=TIMEOUT)
        record.status = r.status_code
        location = r.json().get("location") if r.status_code == 200 else None
        if location and "json" in r.headers.get("Content-Type", ""):
            record.result, record.location = NOTEBOOK, location
        else:
            _problem(record, r)

    _call(record, clock, send)


def _read_events(r: requests.Response, record: Record, abandon: bool) -> None:
    event = ""
    for line in r.iter_lines(decode_unicode=True):
        if line.startswith("event:"):
            event = line[len("event:") :].strip()
        if not line.startswith("data:"):
            continue
        data = json.loads(line[len("data:") :])
        if event == "progress" and abandon:
            record.result = ABANDONED
            return
        if event == "launched" and data.get("location"):
            record.result, record.location = NOTEBOOK, data["location"]
            return
        if event == "problem":
            code = catalogued(int(data.get("status", 0)), data)
            record.result, record.code = (PROBLEM, code) if code else (OTHER, str(data)[:60])
            record.detail = str(data.get("detail", ""))[:300]
            return
    record.result, record.code = OTHER, f"stream ended after {event or 'nothing'}"


def launch_stream(
    s: requests.Session, url: str, auth: Auth, record: Record, clock: Clock, abandon: bool = False
) -> None:
    """The launch as server-sent events; `abandon`: close the stream after its first
    event, as a browser tab closed during the spawn."""

    def send() -> None:
        headers = {"Accept": EVENTS}
        with s.post(
            f"{url}/opendap",
            json=body(record),
            auth=auth,
            headers=headers,
            stream=True,
            timeout=TIMEOUT,
        ) as r:
            record.status = r.status_code
            if r.status_code == 200 and EVENTS in r.headers.get("Content-Type", ""):
                _read_events(r, record, abandon)
            else:
                _problem(record, r)

    _call(record, clock, send)


def preview(s: requests.Session, url: str, auth: Auth, record: Record, clock: Clock) -> None:
    def send() -> None:
        headers = {"Accept": PREVIEW}
        r = s.post(f"{url}/opendap", json=body(record), auth=auth, headers=headers, timeout=60)
        record.status = r.status_code
        if r.status_code == 200 and record.marker in r.text and "nbformat" in r.json():
            record.result = NOTEBOOK
        else:
            _problem(record, r)

    _call(record, clock, send)


def failing_login(s: requests.Session, url: str, auth: Auth, record: Record, clock: Clock) -> None:
    """A wrong password: 401 `unauthorized` or 429 `too-many-failed-logins`."""

    def send() -> None:
        r = s.post(f"{url}/opendap", json=body(record), auth=auth, timeout=60)
        record.status = r.status_code
        _problem(record, r)
        if record.code not in ("unauthorized", "too-many-failed-logins"):
            record.result = OTHER

    _call(record, clock, send)


def scrape(s: requests.Session, url: str, record: Record, clock: Clock) -> None:
    """/health answers 200 or 503 with its JSON; /metrics 200 with the launcher's metrics
    (a freshly started launcher has no `launches_total` until its first launch)."""

    def send() -> None:
        r = s.get(f"{url}/{record.kind}", timeout=60)
        record.status = r.status_code
        if record.kind == "health":
            good = r.status_code in (200, 503) and "status" in r.json()
        else:
            good = r.status_code == 200 and "# TYPE experiment_launcher_" in r.text
        record.result, record.code = (OK, str(r.status_code)) if good else (OTHER, r.text[:60])

    _call(record, clock, send)
