"""The benchmark's clients: one launch as a caller makes it, timed, and what came back."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class SourceAddressAdapter(HTTPAdapter):
    """Connects from another loopback address, so clients look like different hosts."""

    def __init__(self, source: str, **kwargs: Any) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session(source: str | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    if source:
        s.mount("http://", SourceAddressAdapter(source))
    return s


_counter = itertools.count()
_counter_lock = threading.Lock()


def unique_filename(prefix: str = "n") -> str:
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}{n}-{secrets.token_hex(3)}.ipynb"


def hello_body(directory: str, filename: str | None = None) -> dict[str, Any]:
    return {"notebook": {"directory": directory, "filename": filename or unique_filename()}}


@dataclass
class Outcome:
    status: int
    started: float
    ended: float
    location: str = ""
    code: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.location)


def launch(
    s: requests.Session,
    url: str,
    body: dict[str, Any],
    auth: tuple[str, str],
    timeout: float = 120,
) -> Outcome:
    """POST /hello and time it until the answer is read."""
    started = time.perf_counter()
    try:
        response = s.post(f"{url}/hello", json=body, auth=auth, timeout=timeout)
    except requests.RequestException as exc:
        return Outcome(0, started, time.perf_counter(), code=type(exc).__name__)
    ended = time.perf_counter()
    location = code = ""
    try:
        data = response.json()
        location = data.get("location", "") if response.status_code == 200 else ""
        code = str(data.get("code") or data.get("title") or "")
    except ValueError:
        code = response.text[:80]
    return Outcome(response.status_code, started, ended, location, code)


def outcome_summary(outcomes: list[Outcome]) -> str:
    """`401/unauthorized: 8, 502/hub-error: 1`: how many answers of each kind."""
    counts = Counter(f"{o.status}{'/' + o.code if o.code else ''}" for o in outcomes)
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def good_seconds(outcomes: list[Outcome]) -> list[float]:
    return [x.seconds for x in outcomes if x.ok]
