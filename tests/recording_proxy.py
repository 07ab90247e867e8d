"""A recording reverse proxy for tests: forwards every request to one upstream (the hub's
proxy) and remembers what was asked, so a test sees every call the launcher makes.

Threaded stdlib `http.server` in front, `http.client` behind. Responses are streamed
chunk by chunk (server-sent events such as the hub's spawn progress arrive as they are
sent). The request target is recorded exactly as it came on the request line, before any
parsing: `http.server` would otherwise collapse a leading `//`, hiding what was sent.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Headers that belong to one connection, not to the request (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
BODY_KEPT = 64 * 1024


@dataclass(frozen=True)
class Recorded:
    """One request as the proxy received it."""

    method: str
    target: str  # the raw request target: path and query, not decoded
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    status: int | None = None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class RecordingProxy:
    upstream: str
    timeout: float = 600.0
    records: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http URL, got {self.upstream!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what the tests use -------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def snapshot(self) -> list[Recorded]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def start(self) -> RecordingProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="recording-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _record(self, record: Recorded) -> int:
        with self._lock:
            self.records.append(record)
            return len(self.records) - 1

    def _set_status(self, index: int, status: int) -> None:
        with self._lock:
            old = self.records[index]
            self.records[index] = Recorded(old.method, old.target, old.headers, old.body, status)


class _Handler(BaseHTTPRequestHandler):
    owner: RecordingProxy
    # Answer as HTTP/1.0 and close: the body is then simply everything until the end of
    # the connection, so any upstream body (chunked, streamed, sized) passes unchanged.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the records are the log

    def _raw_request_line(self) -> tuple[str, str]:
        # requestline is the first line as received, without the CRLF.
        method, _, rest = self.requestline.partition(" ")
        target, _, _version = rest.rpartition(" ")
        return method, target or rest

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        method, target = self._raw_request_line()
        body = self._read_body()
        headers = [
            (k, v)
            for k, v in self.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "host"
        ]
        index = self.owner._record(Recorded(method, target, tuple(headers), body[:BODY_KEPT]))
        upstream = http.client.HTTPConnection(
            self.owner._host, self.owner._port, timeout=self.owner.timeout
        )
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            upstream.putheader("Host", f"{self.owner._host}:{self.owner._port}")
            for key, value in headers:
                if key.lower() != "content-length":
                    upstream.putheader(key, value)
            if body or method in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.putheader("Connection", "close")
            upstream.endheaders(body or None)
            response = upstream.getresponse()
        except (OSError, ValueError, http.client.HTTPException) as exc:
            upstream.close()
            self.owner._set_status(index, 502)
            self.send_error(502, f"recording proxy: upstream failed: {type(exc).__name__}")
            return
        try:
            self.owner._set_status(index, response.status)
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            if method == "HEAD":
                return
            while True:
                chunk = response.read1(64 * 1024)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            pass  # the client went away; nothing to tell it
        finally:
            response.close()
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward
