"""Launch links carry a request body as a query and give back exactly that body.

The bodies are generated from the spec's own request schemas, so every field of every
operation, with the characters that URLs treat specially, goes through real URL encoding.
A decoded body must be the same body (same types too), validate as the POST body does,
and build the same notebook.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import math
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import yaml
from connexion.json_schema import Draft4RequestValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, ValidationError

from ewatercycle_experiment_launcher import links, notebooks
from ewatercycle_experiment_launcher.links import LinkError

from .examples import EXAMPLES, example
from .test_isolation import CORPUS, OTHER

BASE = "http://127.0.0.1:8888/"
FORMATS = Draft4Validator.FORMAT_CHECKER
# What a link's query may consist of once encoded: no space, `#`, `+` or non-ASCII.
LINK_QUERY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-/:%&=")
ANNOTATIONS = {"description", "example", "default", "title"}
SPECIAL = "&=#%+/?;\\ .:~\x00\r\n\t\x7f\u00a0\u200b\ufeff\u202eé水🌊"


# -- bodies from the spec's schemas --------------------------------------------------------


def body_strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts. Fails on a keyword it does not know, rather than
    generating values the schema might refuse."""
    known = ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
    known |= {"enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum"}
    assert set(schema) <= known, f"no strategy for {set(schema) - known}"
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "object":
        properties = {name: body_strategy(sub) for name, sub in schema["properties"].items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {name: s for name, s in properties.items() if name in required},
            optional={name: s for name, s in properties.items() if name not in required},
        )
    if kind == "string":
        return string_strategy(schema)
    if kind == "boolean":
        return st.booleans()
    lo, hi = schema.get("minimum"), schema.get("maximum")
    integers = st.integers(min_value=lo, max_value=hi) | st.sampled_from([10**40, -(2**63)])
    if kind == "integer":
        return integers.filter(lambda n: (lo is None or n >= lo) and (hi is None or n <= hi))
    floats = st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)
    return integers.filter(lambda n: (lo is None or n >= lo) and (hi is None or n <= hi)) | floats


def string_strategy(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if schema.get("format") == "uri":
        texts = uris()
    elif schema.get("format") == "date-time":
        texts = date_times()
    elif "pattern" in schema:
        texts = st.from_regex(schema["pattern"], alphabet=st.characters(codec="utf-8"))
    else:
        texts = text()
    return texts.filter(lambda s: len(s) >= low and (high is None or len(s) <= high)).filter(
        lambda s: "format" not in schema or FORMATS.conforms(s, schema["format"])
    )


def text() -> st.SearchStrategy[str]:
    """Any valid Unicode text, often with the characters URLs and paths treat specially."""
    return st.text(st.characters(codec="utf-8") | st.sampled_from(SPECIAL))


def uris() -> st.SearchStrategy[str]:
    part = text().map(lambda s: quote(s, safe=""))
    return st.builds(
        "{}://{}.example/{}?{}={}#{}".format,
        st.sampled_from(["http", "https", "ftp"]),
        st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
        part,
        part,
        part,
        part,
    )


def date_times() -> st.SearchStrategy[str]:
    minutes = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59)
    zones = minutes.map(lambda m: datetime.timezone(datetime.timedelta(minutes=m)))
    moments = st.datetimes(
        min_value=datetime.datetime(1000, 1, 1), timezones=zones | st.just(datetime.timezone.utc)
    )
    return moments.map(lambda moment: moment.isoformat().replace("+00:00", "Z"))


# -- checks -----------------------------------------------------------------------------


def validator(operation: str) -> Draft4Validator:
    """Connexion's own request body validator, with the formats it checks."""
    return Draft4RequestValidator(links.request_schema(operation), format_checker=FORMATS)


def built(operation: str, body: dict[str, Any]) -> Any:
    """The notebook without its random cell ids, or the ValueError that refused the body."""
    try:
        notebook = notebooks.build(operation, copy.deepcopy(body))
    except ValueError as error:
        return ("refused", type(error).__name__, str(error))
    for cell in notebook.cells:
        cell.pop("id", None)
    return json.loads(json.dumps(notebook))


def typed(value: Any) -> str:
    """A form in which 86 and 86.0 differ, as they do in a notebook's literal."""
    return json.dumps(value, sort_keys=True)


def reversed_order(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: reversed_order(node[key]) for key in reversed(list(node))}
    return node


def decode(operation: str, link: str) -> dict[str, Any]:
    """What a browser's request to `link` gives the service: standard form decoding."""
    split = urlsplit(link)
    assert split.path == "/" + links.link_path(operation)
    assert set(split.query) <= LINK_QUERY_CHARS, split.query
    assert split.fragment == ""
    pairs = parse_qsl(split.query, keep_blank_values=True, strict_parsing=True)
    assert links.parse_query(split.query) == pairs
    return links.from_query(operation, pairs)


def assert_round_trip(operation: str, body: dict[str, Any]) -> None:
    validator(operation).validate(body)
    link = links.link(BASE, operation, body)
    decoded = decode(operation, link)
    assert decoded == body
    assert typed(decoded) == typed(body)
    validator(operation).validate(decoded)
    assert built(operation, decoded) == built(operation, body)
    assert links.link(BASE, operation, reversed_order(body)) == link


# -- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("operation", sorted(EXAMPLES))
def test_contract_example_round_trips(operation):
    assert_round_trip(operation, EXAMPLES[operation])


@pytest.mark.parametrize("operation", links.operations())
def test_generated_body_round_trips(operation):
    schema = links.request_schema(operation)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body_strategy(schema))
    def round_trip(body):
        assert_round_trip(operation, body)

    round_trip()


def test_every_operation_has_a_notebook_and_a_link_path():
    assert set(links.operations()) == set(notebooks.KINDS)
    assert {links.link_path(op) for op in links.operations()} == {
        f"launch/{kind}" for kind in notebooks.KINDS
    }
    with pytest.raises(KeyError):
        links.link_path("nothing")


def test_fields_are_the_dotted_leaves_of_the_schema():
    assert list(links.fields("bmi")) == [
        "notebook.directory",
        "notebook.filename",
        "notebook.workspace",
        "notebook.overwrite",
        "notebook.server",
        "setup.model.grpc4bmi_container",
        "setup.model.runner",
        "setup.model.path",
        "setup.datafiles.format",
        "setup.datafiles.url",
        "setup.config.format",
        "setup.config.url",
        "setup.plotting.variable",
        "setup.plotting.index",
    ]


def test_a_readable_link():
    body = example("bmi", directory="course/week1", overwrite=True)
    body["setup"]["plotting"]["index"] = 12
    query = urlsplit(links.link(BASE, "bmi", body)).query
    assert query.startswith("notebook.directory=course/week1&notebook.overwrite=true&")
    assert "&setup.model.grpc4bmi_container=ewatercycle/pcrg-grpc4bmi:latest&" in query
    assert query.endswith("&setup.plotting.index=12")


@pytest.mark.parametrize(
    "value, written",
    [
        (86, "86"),
        (86.0, "86.0"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (2**53 + 1, "9007199254740993"),
        (10**40, "1" + "0" * 40),
        (-(10**40), "-1" + "0" * 40),
    ],
)
def test_numbers_are_written_exactly(value, written):
    body = example("bmi")
    body["setup"]["plotting"]["index"] = value
    pairs = parse_qsl(links.to_query("bmi", body))
    assert ("setup.plotting.index", written) in pairs
    decoded = links.from_query("bmi", pairs)["setup"]["plotting"]["index"]
    assert decoded == value and type(decoded) is type(value)
    assert math.copysign(1, decoded) == math.copysign(1, value)


# -- hostile values -----------------------------------------------------------------------


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _hostile() -> Iterator[Any]:
    for name, template, _ in CORPUS:
        value = template.replace(OTHER, "bob")
        if _is_unicode(value):
            yield pytest.param(value, id=name)
    for value in ["&", "=", "#", "%", "+", "/", " ", "a=b&c=d#e", "%2F+%20", "é水🌊", "\ufeff"]:
        yield pytest.param(value, id=f"special-{value.encode('unicode_escape').decode()}")


@pytest.mark.parametrize("field", ["directory", "filename", "workspace", "server"])
@pytest.mark.parametrize("value", _hostile())
def test_hostile_values_round_trip_unchanged(field, value):
    body = example("hello", **{field: value})
    query = links.to_query("hello", body)
    assert set(query) <= LINK_QUERY_CHARS
    decoded = links.from_query("hello", parse_qsl(query, keep_blank_values=True))
    assert decoded["notebook"][field].encode("utf-8") == value.encode("utf-8")
    assert decoded == body


@pytest.mark.parametrize("field", ["directory", "filename", "workspace", "server"])
def test_text_that_is_not_unicode_is_refused_naming_its_field(field):
    lone = [template for name, template, _ in CORPUS if name == "lone-surrogate"]
    assert lone == ["a\udc80b"]
    with pytest.raises(LinkError) as refused:
        links.to_query("hello", example("hello", **{field: lone[0]}))
    assert refused.value.field == f"notebook.{field}"
    assert "Unicode" in refused.value.detail


@pytest.mark.parametrize("query", ["notebook.directory=a%80b", "notebook.directory=%ED%B2%80"])
def test_escapes_that_are_not_utf8_are_refused_not_replaced(query):
    assert "\ufffd" in parse_qsl(query)[0][1]  # the lenient default makes up a value
    with pytest.raises(LinkError):
        links.parse_query(query)


@pytest.mark.parametrize("query", ["notebook.directory", "a=1&&b=2", "a=1&", "&a=1"])
def test_query_fields_must_be_key_value(query):
    with pytest.raises(LinkError) as refused:
        links.parse_query(query)
    assert refused.value.field == "query"


def test_plus_is_a_space_and_an_empty_query_is_no_fields():
    assert links.parse_query("a=x+y%2B&b=") == [("a", "x y+"), ("b", "")]
    assert links.parse_query("") == []


# -- values that do not fit their field ------------------------------------------------------


def from_link(operation: str, query: str) -> dict[str, Any]:
    return links.from_query(operation, links.parse_query(query))


BMI = links.to_query("bmi", EXAMPLES["bmi"]).replace("&setup.plotting.index=86", "")


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1,5", "0x10", "inf", "-inf", "nan", "NaN", "Infinity", "+1", " 1", "1 ",
     "01", "1.", ".5", "1e", "1_000", "٣", "1.5.2", "true"],
)  # fmt: skip
def test_a_number_field_takes_only_json_numbers(text):
    with pytest.raises(LinkError) as refused:
        from_link("bmi", f"{BMI}&setup.plotting.index={quote(text)}")
    assert refused.value.field == "setup.plotting.index"
    assert "must be a number" in refused.value.detail
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    "text, value", [("12", 12), ("-3", -3), ("1E3", 1000.0), ("2.5e-3", 0.0025), ("-0", 0)]
)
def test_a_number_field_reads_json_numbers(text, value):
    index = from_link("bmi", f"{BMI}&setup.plotting.index={text}")["setup"]["plotting"]["index"]
    assert index == value and type(index) is type(value)


def test_an_overflowing_number_reads_as_json_reads_it_and_the_notebook_refuses_it():
    body = from_link("bmi", f"{BMI}&setup.plotting.index=1e999")
    assert body["setup"]["plotting"]["index"] == json.loads("1e999") == math.inf
    with pytest.raises(ValueError):
        notebooks.build("bmi", body)


def test_an_integer_too_long_for_python_is_refused_both_ways():
    digits = "1" * 5000  # past int's default limit of 4300 digits, as json.loads is too
    with pytest.raises(LinkError) as refused:
        from_link("bmi", f"{BMI}&setup.plotting.index={digits}")
    assert refused.value.field == "setup.plotting.index"
    body = copy.deepcopy(EXAMPLES["bmi"])
    body["setup"]["plotting"]["index"] = int(digits[:4000]) ** 2
    with pytest.raises(LinkError) as refused:
        links.to_query("bmi", body)
    assert refused.value.field == "setup.plotting.index"


@pytest.mark.parametrize("text, value", [("true", True), ("false", False)])
def test_booleans_are_true_or_false(text, value):
    body = from_link("hello", f"notebook.directory=x&notebook.overwrite={text}")
    assert body["notebook"]["overwrite"] is value


@pytest.mark.parametrize("text", ["1", "0", "yes", "no", "True", "FALSE", "on", "", " true"])
def test_other_spellings_of_booleans_are_refused(text):
    with pytest.raises(LinkError) as refused:
        from_link("hello", f"notebook.directory=x&notebook.overwrite={quote(text)}")
    assert refused.value.field == "notebook.overwrite"
    assert "true or false" in refused.value.detail


def test_a_long_value_is_shortened_in_the_detail():
    with pytest.raises(LinkError) as refused:
        from_link("hello", "notebook.directory=x&notebook.overwrite=" + "y" * 1000)
    assert len(refused.value.detail) < 100


def test_a_repeated_key_is_refused_even_with_the_same_value():
    with pytest.raises(LinkError) as refused:
        from_link("hello", "notebook.directory=a&notebook.directory=a")
    assert refused.value.field == "notebook.directory"
    with pytest.raises(LinkError):
        from_link("hello", "notebook.directory=a&colour=1&colour=2")


@pytest.mark.parametrize(
    "query, kept",
    [
        ("notebook.directory=x&notebook.colour=red", {"colour": "red"}),
        ("notebook.directory=x&notebook.overwrite.now=true", {"overwrite": {"now": "true"}}),
        ("notebook.directory=x&notebook.=1", {"": "1"}),
    ],
)
def test_an_unknown_key_is_kept_for_validation_to_refuse(query, kept):
    body = from_link("hello", query)
    assert body == {"notebook": {"directory": "x", **kept}}
    with pytest.raises(ValidationError):
        validator("hello").validate(body)


@pytest.mark.parametrize(
    "operation, query",
    [
        ("hello", "notebook.directory=x&setup.plotting.index=1"),
        ("hello", "notebook=x"),
        ("opendap", "notebook.directory=x&opendap=not%20a%20uri"),
        ("bmi", BMI + "&setup.model.runner=podman"),
        ("hello", "notebook.directory=x&notebook.filename="),
        ("hello", "notebook.directory="),
    ],
)
def test_what_the_post_refuses_the_link_gives_for_validation_to_refuse(operation, query):
    with pytest.raises(ValidationError):
        validator(operation).validate(from_link(operation, query))


def test_an_empty_value_is_an_empty_string_where_the_schema_allows_one():
    plain = {"type", "description", "example", "default"}
    checked = 0
    for operation, body in EXAMPLES.items():
        table = links.fields(operation)
        pairs = parse_qsl(links.to_query(operation, body))
        for index, (name, _) in enumerate(pairs):
            if table[name]["type"] != "string" or set(table[name]) - plain:
                continue
            emptied = [*pairs[:index], (name, ""), *pairs[index + 1 :]]
            decoded = links.from_query(operation, emptied)
            validator(operation).validate(decoded)
            assert functools.reduce(dict.__getitem__, name.split("."), decoded) == ""
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    "query",
    [
        "notebook=x&notebook.directory=y",
        "notebook.directory=y&notebook=x",
        "notebook.directory=y&notebook.directory.z=x",
        "notebook.directory.z=x&notebook.directory=y",
    ],
)
def test_a_key_that_is_both_a_value_and_a_group_is_refused(query):
    with pytest.raises(LinkError) as refused:
        from_link("hello", query)
    assert refused.value.field in ("notebook", "notebook.directory", "notebook.directory.z")
    assert "both" in refused.value.detail or "also given as a value" in refused.value.detail


# -- bodies a link cannot carry -----------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b["notebook"].update(colour="red"), "notebook.colour"),
        (lambda b: b["notebook"].update(overwrite=1), "notebook.overwrite"),
        (lambda b: b["notebook"].update(overwrite="true"), "notebook.overwrite"),
        (lambda b: b["notebook"].update(directory=None), "notebook.directory"),
        (lambda b: b["notebook"].update(directory=3), "notebook.directory"),
        (lambda b: b["setup"]["plotting"].update(index="86"), "setup.plotting.index"),
        (lambda b: b["setup"]["plotting"].update(index=True), "setup.plotting.index"),
        (lambda b: b["setup"]["plotting"].update(index=math.nan), "setup.plotting.index"),
        (lambda b: b["setup"]["plotting"].update(index=-math.inf), "setup.plotting.index"),
        (lambda b: b["setup"].update(plotting={}), "setup.plotting"),
        (lambda b: b.update({"setup.model": "x"}), "setup.model"),
        (lambda b: b["setup"].update(model=["a"]), "setup.model"),
    ],
)
def test_a_body_that_would_not_come_back_unchanged_is_refused(change, field):
    body = copy.deepcopy(EXAMPLES["bmi"])
    change(body)
    with pytest.raises(LinkError) as refused:
        links.to_query("bmi", body)
    assert refused.value.field == field


# -- schemas a link cannot carry, and integers ----------------------------------------------


@pytest.fixture
def spec_with(monkeypatch) -> Iterator[Callable[[Callable[[dict], None]], None]]:
    """Makes the codec read a changed copy of the spec, as a later spec might be."""
    cached = (links.operations, links._request_schema, links.fields)

    def change(edit: Callable[[dict], None]) -> None:
        spec = yaml.safe_load(links.SPEC.read_text(encoding="utf-8"))
        edit(spec["components"]["schemas"])
        monkeypatch.setattr(links, "_spec", lambda: spec)
        for function in cached:
            function.cache_clear()

    yield change
    monkeypatch.undo()
    for function in cached:
        function.cache_clear()


def test_an_integer_field_takes_only_integer_digits(spec_with):
    spec_with(lambda schemas: schemas["Plotting"]["properties"]["index"].update(type="integer"))
    big = "9" * 60
    index = from_link("bmi", f"{BMI}&setup.plotting.index={big}")["setup"]["plotting"]["index"]
    assert index == int(big)
    for text in ["12.0", "1.5", "1e3", "abc", ""]:
        with pytest.raises(LinkError, match="must be an integer") as refused:
            from_link("bmi", f"{BMI}&setup.plotting.index={text}")
        assert refused.value.field == "setup.plotting.index"
    body = copy.deepcopy(EXAMPLES["bmi"])
    body["setup"]["plotting"]["index"] = 12.0
    with pytest.raises(LinkError, match="must be of type integer"):
        links.to_query("bmi", body)


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda s: s["Plotting"]["properties"].update(index={"type": "array"}), "plotting.index"),
        (lambda s: s["Notebook"]["properties"]["server"].update(nullable=True), "server"),
        (lambda s: s["Notebook"]["properties"].update({"a.b": {"type": "string"}}), "notebook"),
        (lambda s: s["Period"].update(oneOf=[{"required": ["start"]}]), "period"),
        (lambda s: s["ConfigFile"]["properties"].update(url={"enum": ["a"]}), "config.url"),
    ],
)
def test_a_schema_a_flat_query_cannot_carry_is_refused_loudly(spec_with, edit, where):
    spec_with(edit)
    failing = []
    for operation in links.operations():
        try:
            links.fields(operation)
        except TypeError as error:
            assert where in str(error)
            failing.append(operation)
    assert failing
