"""A launch link's query read into a request body and checked as the API checks a POST.

The same schema validation Connexion applies to a POST body (its Draft 4 request
validator with format checking), then the same path checks and notebook build
(`Launcher.preview`). Every refusal is a problem with status 400, never written.
"""

from __future__ import annotations

import functools
from typing import Any

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, format_error_with_path
from jsonschema import Draft4Validator, ValidationError

from .. import links


@functools.cache
def _validator(operation: str) -> Draft4RequestValidator:
    return Draft4RequestValidator(
        links.request_schema(operation), format_checker=Draft4Validator.FORMAT_CHECKER
    )


def validate(operation: str, body: dict[str, Any]) -> None:
    """Refuse `body` with the 400 problem the API gives for the same POST body."""
    try:
        _validator(operation).validate(body)
    except ValidationError as error:
        raise BadRequestProblem(detail=f"{error.message}{format_error_with_path(error)}") from None


def body_from_query(operation: str, raw_query: bytes) -> dict[str, Any]:
    """The body a link's raw query stands for, schema-checked; BadRequestProblem if not."""
    try:
        query = raw_query.decode("utf-8")
        body = links.from_query(operation, links.parse_query(query))
    except UnicodeDecodeError:
        raise BadRequestProblem(detail="query: the link is not UTF-8 text") from None
    except links.LinkError as error:
        raise BadRequestProblem(detail=str(error)) from None
    validate(operation, body)
    return body
