"""Launch links: a request body carried as the query of `GET {base}launch/{operation}?...`.

A link must launch exactly what a POST of the same body launches, so the codec reads the
types from the spec's request schemas instead of knowing any operation, and the body it
decodes is meant to go through the same validation as a POST body. The rules:

- A field is named by its dotted path in the body: `notebook.directory`,
  `setup.model.runner`. A schema property whose name is empty or holds a dot could not be
  told apart, so such a schema is refused when its fields are first read.
- Strings travel as they are, through UTF-8 percent-encoding: nothing is trimmed,
  normalised or cleaned (unsafe paths are refused later, as for a POST). `/` and `:` stay
  readable; `&`, `=`, `#`, `%`, `+` and spaces are escaped. Text that is not valid Unicode
  (a lone surrogate) cannot be put in a URL, so it is refused both ways.
- Booleans are `true` or `false` and nothing else: `1`, `yes` or `True` are refused, so
  each value has one spelling and a typo is never read as `false`.
- Numbers are JSON numbers, read with JSON's own parser, as a POST body is: `86` stays an
  int, `86.0` a float, integers of any size keep every digit, and a float is written in
  the shortest form that reads back to the same float (`0.1`). `inf`, `nan`, `+1`, `0x10`
  or ` 1` are refused; an integer field takes only integer digits.
- An empty value is the empty string for a string field (the schema's `minLength`
  decides whether that is allowed) and refused for any other type.
- A key that is no field of the operation is kept, as a string at its dotted path, so the
  spec's validation refuses it exactly as it refuses an unknown field in a POST body.
- A key given twice is refused: the query cannot say which value was meant.
- No request schema has arrays, nulls or alternatives (`oneOf`...), which a flat query
  cannot carry without guessing; a schema with one is refused when its fields are first
  read, so a spec change that adds one fails loudly instead of linking wrongly.

A value that cannot be read raises `LinkError`, a ValueError naming the dotted `field`
with a `detail` for people, so the caller can answer with a 400 problem.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import yaml

SPEC = Path(__file__).with_name("openapi.yaml")
LEAF_TYPES = ("string", "boolean", "integer", "number")
UNSUPPORTED = ("oneOf", "anyOf", "allOf", "not")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_BOOLEANS = {"true": True, "false": False}
_NUMBER_EXAMPLES = {"integer": "an integer such as 12", "number": "a number such as 12 or 0.5"}


class LinkError(ValueError):
    """A link value that cannot stand for a body value; `field` is its dotted name."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@functools.cache
def _spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


@functools.cache
def operations() -> tuple[str, ...]:
    """The operations that take a JSON body, named by their path: `hello`, `bmi`, ..."""
    return tuple(
        path.strip("/")
        for path, item in _spec()["paths"].items()
        if "application/json" in item.get("post", {}).get("requestBody", {}).get("content", {})
    )


def link_path(operation: str) -> str:
    """The link's path relative to the service's base URL; KeyError for no such operation."""
    if operation not in operations():
        raise KeyError(f"no launch operation {operation!r}")
    return f"launch/{operation}"


def link(base: str, operation: str, body: Mapping[str, Any]) -> str:
    """The whole link: `base` is the service's base URL, ending in `/`."""
    return f"{base}{link_path(operation)}?{to_query(operation, body)}"


def request_schema(operation: str) -> dict[str, Any]:
    """The operation's request schema with every `$ref` replaced by what it names.

    Self-contained, so it can be walked, validated against and generated from without
    the rest of the spec. A copy: the caller may change it.
    """
    return copy.deepcopy(_request_schema(operation))


@functools.cache
def _request_schema(operation: str) -> dict[str, Any]:
    post = _spec()["paths"][f"/{operation}"]["post"]
    return _inline(post["requestBody"]["content"]["application/json"]["schema"], ())


def _inline(node: Any, refs: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in refs:
            raise TypeError(f"cannot inline {ref!r}: not local, or recursive")
        target: Any = _spec()
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _inline(target, (*refs, ref))
    return {key: _inline(value, refs) for key, value in node.items()}


@functools.cache
def fields(operation: str) -> dict[str, Mapping[str, Any]]:
    """Every field a link can carry for `operation`: dotted path -> its leaf schema.

    In the spec's order, which is also the order of a link's query. TypeError for a
    schema the flat query cannot carry (see the module's rules).
    """
    table: dict[str, Mapping[str, Any]] = {}
    _collect(_request_schema(operation), "", table)
    return table


def _collect(schema: Mapping[str, Any], path: str, table: dict[str, Mapping[str, Any]]) -> None:
    where = path or "the request"
    if schema.get("nullable") or any(keyword in schema for keyword in UNSUPPORTED):
        raise TypeError(f"{where}: a link cannot carry null or any of {', '.join(UNSUPPORTED)}")
    if schema.get("type") == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            if not name or "." in name:
                raise TypeError(f"{where}: property {name!r} has no dotted path")
            _collect(sub, f"{path}.{name}" if path else name, table)
    elif schema.get("type") in LEAF_TYPES:
        table[path] = schema
    else:
        raise TypeError(f"{where}: a link cannot carry type {schema.get('type')!r}")


# -- body -> query ---------------------------------------------------------------------


def to_query(operation: str, body: Mapping[str, Any]) -> str:
    """The link query for `body`, a body the POST would take.

    Raises LinkError for what a link could not give back unchanged: a field not in the
    schema, a value not of its field's type, a non-finite float, text that is not valid
    Unicode, an empty object. So `from_query` of the result always equals `body`.
    """
    table = fields(operation)
    leaves = dict(_flatten(body, ""))
    for name in leaves:
        if name not in table:
            raise LinkError(name, f"is not a field of the {operation} request")
    pairs = [(name, _write(name, table[name], leaves[name])) for name in table if name in leaves]
    return urlencode(pairs, quote_via=quote, safe="/:")


def _flatten(node: Mapping[str, Any], path: str) -> Iterable[tuple[str, Any]]:
    if not node and path:
        raise LinkError(path, "an empty object has no fields to put in a link")
    for key, value in node.items():
        name = f"{path}.{key}" if path else str(key)
        if not isinstance(key, str) or not key or "." in key:
            raise LinkError(name, "is not a field name a link can carry")
        if isinstance(value, Mapping):
            yield from _flatten(value, name)
        else:
            yield name, value


def _write(name: str, schema: Mapping[str, Any], value: Any) -> str:
    kind = schema["type"]
    if kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "string" and isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LinkError(name, "is not valid Unicode text, which no URL can carry") from None
        return value
    if isinstance(value, bool) or kind not in ("integer", "number"):
        raise LinkError(name, f"must be of type {kind}, not {type(value).__name__}")
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError as error:
            raise LinkError(name, str(error)) from None
    if isinstance(value, float) and kind == "number":
        if not math.isfinite(value):
            raise LinkError(name, "must be a finite number")
        return repr(value)
    raise LinkError(name, f"must be of type {kind}, not {type(value).__name__}")


# -- query -> body ---------------------------------------------------------------------


def parse_query(query: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of a link's query, read strictly.

    Every field must be `key=value` (an empty value is kept), `+` is a space as in any
    form, and percent-escapes must spell UTF-8: a bad one raises LinkError (its `field`
    is `query`) rather than becoming U+FFFD, which would launch with a value nobody wrote.
    """
    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=True, errors="strict")
    except UnicodeDecodeError:
        raise LinkError("query", "percent-escapes must spell UTF-8 text") from None
    except ValueError as error:
        raise LinkError("query", f"is not a list of key=value fields ({error})") from None


def from_query(operation: str, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The body a link's query stands for, to be validated as a POST body is.

    Raises LinkError for a repeated key, a value its field's type cannot read, or a key
    that is both a value and a group (`notebook=x&notebook.directory=y`).
    """
    table = fields(operation)
    body: dict[str, Any] = {}
    seen: set[str] = set()
    for key, text in pairs:
        if key in seen:
            raise LinkError(key, "is given more than once")
        seen.add(key)
        value = _read(key, table[key], text) if key in table else text
        _place(body, key, value)
    return body


def _read(name: str, schema: Mapping[str, Any], text: str) -> Any:
    kind = schema["type"]
    if kind == "string":
        return text
    if kind == "boolean":
        if text not in _BOOLEANS:
            raise LinkError(name, f"must be true or false, not {_shown(text)}")
        return _BOOLEANS[text]
    grammar = _JSON_INTEGER if kind == "integer" else _JSON_NUMBER
    if not grammar.fullmatch(text):
        raise LinkError(name, f"must be {_NUMBER_EXAMPLES[kind]}, not {_shown(text)}")
    try:
        return json.loads(text)
    except ValueError as error:
        raise LinkError(name, str(error)) from None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _place(body: dict[str, Any], key: str, value: Any) -> None:
    *groups, last = key.split(".")
    node = body
    for depth, group in enumerate(groups, 1):
        node = node.setdefault(group, {})
        if not isinstance(node, dict):
            prefix = ".".join(groups[:depth])
            raise LinkError(key, f"is inside {prefix}, which is also given as a value")
    if last in node:
        raise LinkError(key, "is given both as a value and as a group of fields")
    node[last] = value
