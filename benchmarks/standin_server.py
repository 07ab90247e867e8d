"""One lightweight process that stands in for every user's Jupyter server.

Real `jupyterhub-singleuser` servers cost 1–2 s of CPU each to start, so 100 of them
cannot start within seconds on 2 cores whatever the launcher does. The benchmark's
spawner (`benchmarks.spawner.StandInSpawner`) waits the configured delay and then points
the hub at this one process, which serves, for every user under their own prefix, what
the hub and the launcher use of a Jupyter server:

- `GET /user/{name}/api` (the hub's readiness check: any answer below 500) and `GET /api`
- `GET|PUT|PATCH|DELETE /user/{name}/api/contents/{path}` with the semantics measured on
  jupyter_server 2.21 (see jupyterhub-facts.md): PUT directory 201 (also when it exists),
  500 when the parent is missing; PUT notebook 201 new / 200 overwritten; PATCH rename
  200, 409 when the target exists, 404 when the source is missing; GET `?content=0`
  200 / 404; DELETE 204 / 404.

Files live in memory, one tree per user. A contents call only needs an Authorization
header: a real server also asks the hub whether the token may access it (once, then it
caches the answer). Round trips measured against the stand-in are therefore *shorter*
than against a real server, which makes the launcher's own overhead more visible, not
less.

Run: `python -m benchmarks.standin_server --port 8765`.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from aiohttp import web

try:  # the hub compares this header with its own version and warns when it is absent
    from jupyterhub import __version__ as HUB_VERSION
except ImportError:  # pragma: no cover
    HUB_VERSION = ""

JSON = "application/json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Tree:
    """One user's files: path ('a/b/c.ipynb', '' is the root) -> entry."""

    def __init__(self) -> None:
        stamp = _now()
        self.entries: dict[str, dict[str, Any]] = {
            "": {"type": "directory", "created": stamp, "last_modified": stamp}
        }

    @staticmethod
    def parent(path: str) -> str:
        return path.rpartition("/")[0]

    def model(self, path: str, content: bool) -> dict[str, Any]:
        entry = self.entries[path]
        kind = entry["type"]
        model: dict[str, Any] = {
            "name": path.rpartition("/")[2],
            "path": path,
            "type": kind,
            "writable": True,
            "created": entry["created"],
            "last_modified": entry["last_modified"],
            "mimetype": None,
            "format": None,
            "content": None,
            "size": None,
            "hash": None,
            "hash_algorithm": None,
        }
        if kind == "notebook":
            model["size"] = entry["size"]
        if content:
            if kind == "directory":
                prefix = f"{path}/" if path else ""
                model["format"] = "json"
                model["content"] = [
                    self.model(p, False)
                    for p in self.entries
                    if p and p.startswith(prefix) and "/" not in p[len(prefix) :]
                ]
            else:
                model["format"] = "json"
                model["content"] = entry["content"]
        return model


class StandIn:
    def __init__(self) -> None:
        self.trees: dict[str, Tree] = {}
        self.counts: dict[str, int] = {}

    def tree(self, user: str) -> Tree:
        tree = self.trees.get(user)
        if tree is None:
            tree = self.trees[user] = Tree()
        return tree

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_path
        self.counts[request.method] = self.counts.get(request.method, 0) + 1
        if raw in ("/api", "/api/"):
            return web.json_response({"version": "2.21.1"}, headers=self._headers())
        if raw == "/standin/stats":
            return web.json_response(
                {"requests": self.counts, "users": len(self.trees)}, headers=self._headers()
            )
        parts = raw.split("/")
        # ['', 'user', NAME, 'api', ...]
        if len(parts) < 4 or parts[1] != "user" or not parts[2]:
            return self._text(404, "Not found")
        user = unquote(parts[2])
        rest = parts[3:]
        if rest in (["api"], ["api", ""]):
            return web.json_response({"version": "2.21.1"}, headers=self._headers())
        if rest[:1] == [""] or rest == []:
            # /user/NAME/ : what a browser would get; the hub's check only needs < 500
            return self._text(200, "stand-in Jupyter server")
        if rest[:2] != ["api", "contents"]:
            return self._text(404, "Not found")
        segments = [unquote(s) for s in rest[2:] if s != ""]
        if any(s in (".", "..") or "/" in s for s in segments):
            return self._error(404, "outside root contents directory")
        if not request.headers.get("Authorization"):
            return self._error(403, "Forbidden")
        return await self.contents(request, self.tree(user), "/".join(segments))

    async def contents(self, request: web.Request, tree: Tree, path: str) -> web.StreamResponse:
        method = request.method
        if method == "GET":
            if path not in tree.entries:
                return self._text(404, f"No such file or directory: {path}", JSON)
            content = request.query.get("content", "1") not in ("0", "false")
            return self._json(200, tree.model(path, content))
        if method == "DELETE":
            if path not in tree.entries or path == "":
                return self._error(404, f"File or directory does not exist: {path}")
            prefix = path + "/"
            for key in [k for k in tree.entries if k == path or k.startswith(prefix)]:
                del tree.entries[key]
            return web.Response(status=204, headers=self._headers())
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return self._error(400, "Invalid JSON in body of request")
        if not isinstance(body, dict):
            return self._error(400, "Invalid JSON in body of request")
        if method == "PUT":
            return self.put(tree, path, body)
        if method == "PATCH":
            return self.rename(tree, path, body)
        return self._error(405, "Method not allowed")

    def put(self, tree: Tree, path: str, body: dict[str, Any]) -> web.Response:
        kind = body.get("type")
        parent = tree.entries.get(tree.parent(path))
        if path == "" or parent is None or parent["type"] != "directory":
            return self._error(500, f"No such file or directory: {path}")
        existing = tree.entries.get(path)
        stamp = _now()
        if kind == "directory":
            if existing is not None and existing["type"] != "directory":
                return self._error(400, f"{path} is not a directory")
            if existing is None:
                tree.entries[path] = {
                    "type": "directory",
                    "created": stamp,
                    "last_modified": stamp,
                }
            return self._json(201, tree.model(path, False), path)
        if kind == "notebook":
            content = body.get("content")
            if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
                return self._error(500, "Unexpected error while saving file: invalid notebook")
            if existing is not None and existing["type"] == "directory":
                return self._error(400, f"{path} is a directory")
            tree.entries[path] = {
                "type": "notebook",
                "content": content,
                "size": len(json.dumps(content)),
                "created": existing["created"] if existing else stamp,
                "last_modified": stamp,
            }
            return self._json(200 if existing else 201, tree.model(path, False), path)
        return self._error(400, f"Unsupported type {kind!r}")

    def rename(self, tree: Tree, path: str, body: dict[str, Any]) -> web.Response:
        target = str(body.get("path", "")).strip("/")
        if path not in tree.entries or path == "":
            return self._error(404, f"File or directory does not exist: {path}")
        if target in tree.entries:
            return self._error(409, f"File already exists: {target}")
        parent = tree.entries.get(tree.parent(target))
        if parent is None or parent["type"] != "directory":
            return self._error(500, f"No such file or directory: {target}")
        prefix = path + "/"
        for key in [k for k in tree.entries if k == path or k.startswith(prefix)]:
            tree.entries[target + key[len(path) :]] = tree.entries.pop(key)
        return self._json(200, tree.model(target, False), target)

    # -- answers --------------------------------------------------------------------------

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"X-JupyterHub-Version": HUB_VERSION} if HUB_VERSION else {}

    def _json(self, status: int, model: dict[str, Any], path: str = "") -> web.Response:
        return web.json_response(model, status=status, headers=self._headers())

    def _error(self, status: int, message: str) -> web.Response:
        return web.json_response(
            {"message": message, "reason": None}, status=status, headers=self._headers()
        )

    def _text(self, status: int, text: str, content_type: str = "text/plain") -> web.Response:
        return web.Response(
            status=status, text=text, content_type=content_type, headers=self._headers()
        )


def make_app() -> web.Application:
    standin = StandIn()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", standin.handle)
    app["standin"] = standin
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    started = time.monotonic()
    web.run_app(
        make_app(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda *_: print(f"stand-in up in {time.monotonic() - started:.2f} s", flush=True),
        backlog=1024,
    )


if __name__ == "__main__":
    main()
