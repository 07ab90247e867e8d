"""Static checks of the generated notebooks: valid, parseable, pyflakes clean, and
request values present only as exact literals in the parameters cell."""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import itertools
import math

import nbformat
import pyflakes.api
import pyflakes.reporter
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ewatercycle_experiment_launcher.notebooks import KINDS, build
from ewatercycle_experiment_launcher.notebooks.bmi import CONFIG_FORMATS, DATA_FORMATS, RUNNERS

NOTEBOOK = {"directory": "experiments", "filename": "experiment.ipynb", "workspace": "w1"}

PCRGLOBWB_FILES = {
    "datafiles": {
        "format": "git",
        "url": "https://github.com/UU-Hydro/PCR-GLOBWB_input_example.git",
    },
    "config": {
        "format": "ini",
        "url": "https://raw.githubusercontent.com/UU-Hydro/PCR-GLOBWB_input_example/master"
        "/RhineMeuse30min/ini_and_batch_files/rapid/setup_natural_test.ini",
    },
}

EXAMPLES = {
    "hello": {"notebook": NOTEBOOK},
    "opendap": {
        "notebook": NOTEBOOK,
        "opendap": "https://thredds-test.unidata.ucar.edu/thredds/dodsC/satellite/goes16/agg/conus/01",
    },
    "threeclickscience": {
        "notebook": NOTEBOOK,
        "setup": {
            "model": "wflow",
            "region": "donau",
            "period": {"start": "2014-01-01T00:00:00Z", "end": "2014-01-31T00:00:00Z"},
        },
    },
    "bmi": {
        "notebook": NOTEBOOK,
        "setup": {
            "model": {"grpc4bmi_container": "ewatercycle/pcrg-grpc4bmi:latest"},
            **PCRGLOBWB_FILES,
            "plotting": {"variable": "discharge", "index": 86},
        },
    },
    "assessment": {
        "notebook": NOTEBOOK,
        "setup": {
            "model": {
                "name": "PCR-GLOBWB",
                "grpc4bmi_container": "ewatercycle/pcrg-grpc4bmi:latest",
            },
            **PCRGLOBWB_FILES,
            "assessment": {
                "variable": "discharge",
                "index": 86,
                "source": "grdc",
                "station_id": "6970500",
            },
        },
    },
}

# Where each request value lands: (path in the body, parameter name).
PARAMETERS = {
    "hello": [],
    "opendap": [(("opendap",), "opendap_url")],
    "threeclickscience": [
        (("setup", "model"), "model_name"),
        (("setup", "region"), "region"),
        (("setup", "period", "start"), "start_time"),
        (("setup", "period", "end"), "end_time"),
    ],
    "bmi": [
        (("setup", "model", "grpc4bmi_container"), "grpc4bmi_container"),
        (("setup", "model", "runner"), "runner"),
        (("setup", "model", "path"), "model_path"),
        (("setup", "datafiles", "format"), "datafiles_format"),
        (("setup", "datafiles", "url"), "datafiles_url"),
        (("setup", "config", "format"), "config_format"),
        (("setup", "config", "url"), "config_url"),
        (("setup", "plotting", "variable"), "variable"),
        (("setup", "plotting", "index"), "index"),
    ],
    "assessment": [
        (("setup", "model", "name"), "model_name"),
        (("setup", "model", "grpc4bmi_container"), "grpc4bmi_container"),
        (("setup", "model", "runner"), "runner"),
        (("setup", "model", "path"), "model_path"),
        (("setup", "datafiles", "format"), "datafiles_format"),
        (("setup", "datafiles", "url"), "datafiles_url"),
        (("setup", "config", "format"), "config_format"),
        (("setup", "config", "url"), "config_url"),
        (("setup", "assessment", "variable"), "variable"),
        (("setup", "assessment", "index"), "index"),
        (("setup", "assessment", "source"), "source"),
        (("setup", "assessment", "station_id"), "station_id"),
        (("setup", "assessment", "data_home"), "data_home"),
    ],
}

CHOICES = {
    ("setup", "model", "runner"): RUNNERS,
    ("setup", "datafiles", "format"): DATA_FORMATS,
    ("setup", "config", "format"): CONFIG_FORMATS,
    ("setup", "assessment", "source"): ("grdc", "usgs"),
}

# Words the notebooks use on their own account; equal request values are not leaks.
VOCABULARY = {"wflow", "Walrus", "PCR-GLOBWB", "discharge", "grdc", "usgs", *RUNNERS}
VOCABULARY |= set(DATA_FORMATS) | set(CONFIG_FORMATS)

MODEL_NAMES = ("wflow", "Walrus", "PCR-GLOBWB", "HBV")


def example(kind):
    return copy.deepcopy(EXAMPLES[kind])


def get(body, path):
    for key in path:
        body = body[key]
    return body


def has(body, path):
    try:
        get(body, path)
    except (KeyError, TypeError):
        return False
    return True


def put(body, path, value):
    *parents, key = path
    for parent in parents:
        body = body.setdefault(parent, {})
    body[key] = value


def applies(kind, body, path):
    """model.path only matters for a local runner, data_home only for GRDC."""
    setup = body.get("setup", {})
    if path[-1] == "path":
        return setup["model"].get("runner") == "local"
    if path[-1] == "data_home":
        return setup["assessment"].get("source", "grdc") == "grdc"
    return True


def expected_parameters(kind, body):
    return {
        name: get(body, path)
        for path, name in PARAMETERS[kind]
        if has(body, path) and applies(kind, body, path)
    }


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def parameter_cells(nb):
    return [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]


def parameters_of(nb):
    (cell,) = parameter_cells(nb)
    values = {}
    for statement in ast.parse(cell.source).body:
        assert isinstance(statement, ast.Assign)
        (target,) = statement.targets
        assert isinstance(target, ast.Name)
        assert target.id not in values
        values[target.id] = ast.literal_eval(statement.value)
    return values


def pyflakes_messages(nb):
    source = "\n\n".join(cell.source for cell in code_cells(nb))
    out = io.StringIO()
    pyflakes.api.check(source, "notebook.py", pyflakes.reporter.Reporter(out, out))
    return out.getvalue()


def same_literal(actual, expected):
    return type(actual) is type(expected) and repr(actual) == repr(expected)


def check(kind, body):
    """Everything every notebook must satisfy; returns the notebook."""
    nb = build(kind, body)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec == {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    assert nb.metadata.language_info["name"] == "python"
    for cell in code_cells(nb):
        ast.parse(cell.source)
        assert not any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines())
    assert pyflakes_messages(nb) == ""
    assert len(parameter_cells(nb)) == 1
    values = parameters_of(nb)
    for name, value in expected_parameters(kind, body).items():
        assert name in values
        assert same_literal(values[name], value), (name, values[name], value)
    return nb


def other_cells(nb):
    return [cell for cell in nb.cells if "parameters" not in cell.metadata.get("tags", [])]


def request_strings(body):
    if isinstance(body, dict):
        for value in body.values():
            yield from request_strings(value)
    elif isinstance(body, str):
        yield body


def bmi_variants():
    for runner, plotting, data_format, config_format in itertools.product(
        (None, *RUNNERS), (True, False), DATA_FORMATS, CONFIG_FORMATS
    ):
        body = example("bmi")
        if runner is not None:
            body["setup"]["model"]["runner"] = runner
        if runner == "local":
            body["setup"]["model"]["grpc4bmi_container"] = "heat.bmi.BmiHeat"
            body["setup"]["model"]["path"] = "models/heat"
        if not plotting:
            del body["setup"]["plotting"]
        body["setup"]["datafiles"]["format"] = data_format
        body["setup"]["config"]["format"] = config_format
        if data_format == "svn":
            body["setup"]["datafiles"]["url"] = "https://svn.example.org/repos/rhinemeuse/trunk"
        yield body


def assessment_variants():
    for name, source, runner, data_home in itertools.product(
        MODEL_NAMES, ("grdc", "usgs", None), (None, *RUNNERS), (None, "/data/grdc")
    ):
        body = example("assessment")
        body["setup"]["model"]["name"] = name
        if source is None:
            del body["setup"]["assessment"]["source"]
        else:
            body["setup"]["assessment"]["source"] = source
        if runner is not None:
            body["setup"]["model"]["runner"] = runner
        if runner == "local":
            body["setup"]["model"]["grpc4bmi_container"] = "walrus.bmi.Walrus"
        if data_home is not None:
            body["setup"]["assessment"]["data_home"] = data_home
        yield body


def all_variants():
    yield "hello", example("hello")
    yield "opendap", example("opendap")
    yield "threeclickscience", example("threeclickscience")
    for body in bmi_variants():
        yield "bmi", body
    for body in assessment_variants():
        yield "assessment", body


def variant_id(variant):
    kind, body = variant
    setup = body.get("setup", {})
    model = setup.get("model", {})
    parts = [kind]
    if "datafiles" in setup:
        parts += [model.get("name", ""), model.get("runner", "")]
        parts += [setup["datafiles"]["format"], setup["config"]["format"]]
        parts.append("plot" if "plotting" in setup else "")
        assessment = setup.get("assessment", {})
        parts += [assessment.get("source", ""), "home" if "data_home" in assessment else ""]
    return "-".join(part for part in parts if part)


VARIANTS = list(all_variants())


def test_kinds():
    assert KINDS == ("hello", "opendap", "threeclickscience", "bmi", "assessment")


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def test_every_combination_is_sound(variant):
    kind, body = variant
    nb = check(kind, body)
    leaks = [
        text
        for text in request_strings(body)
        if text not in VOCABULARY
        for cell in other_cells(nb)
        if text in cell.source
    ]
    assert leaks == []


def marked(kind):
    """The example body with every free text replaced by a unique hostile marker."""
    body = example(kind)
    markers = {}
    counter = itertools.count()

    def mark(node, path):
        for key, value in node.items():
            if isinstance(value, dict):
                mark(value, (*path, key))
            elif isinstance(value, str) and (*path, key) not in CHOICES:
                token = f"Qz{next(counter)}marker"
                node[key] = '\'"""\\\n{}%s<b>*_`#$' + token + "\u00e9\u2028"
                markers[token] = (*path, key)

    if kind in ("bmi", "assessment"):
        body["setup"]["model"]["runner"] = "local"
        body["setup"]["model"]["path"] = "models"
    if kind == "assessment":
        body["setup"]["assessment"]["data_home"] = "observations"
    mark(body, ())
    return body, markers


@pytest.mark.parametrize("kind", KINDS)
def test_request_text_appears_only_in_parameters(kind):
    body, markers = marked(kind)
    nb = check(kind, body)
    for token, path in markers.items():
        elsewhere = [cell.source for cell in other_cells(nb) if token in cell.source]
        assert elsewhere == [], path
        in_parameters = token in parameter_cells(nb)[0].source
        assert in_parameters == (path[0] != "notebook"), path


@pytest.mark.parametrize("kind", KINDS)
def test_notebook_object_is_ignored(kind):
    plain = build(kind, example(kind))
    body = example(kind)
    body["notebook"] = {"directory": "x", "filename": "y.ipynb", "workspace": "z"}
    assert sources(build(kind, body)) == sources(plain)


def sources(nb):
    return [(cell.cell_type, cell.source, cell.metadata) for cell in nb.cells]


def test_hello_prints_hello_world():
    nb = check("hello", example("hello"))
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out):
        for cell in code_cells(nb):
            exec(cell.source, namespace)
    assert out.getvalue() == "hello world\n"


def test_opendap_opens_with_xarray():
    source = "\n".join(cell.source for cell in code_cells(check("opendap", example("opendap"))))
    assert "import xarray as xr" in source
    assert "xr.open_dataset(opendap_url" in source


def all_code(nb):
    return "\n".join(cell.source for cell in code_cells(nb))


@pytest.mark.parametrize("source", ["grdc", "usgs"])
def test_observations_come_from_the_chosen_source(source):
    body = example("assessment")
    body["setup"]["assessment"]["source"] = source
    code = all_code(check("assessment", body))
    other = "usgs" if source == "grdc" else "grdc"
    assert f"get_{source}_data(station_id, period_start, period_end" in code
    assert f"get_{other}_data" not in code
    assert f"ewatercycle.observation.{other}" not in code


def test_source_defaults_to_grdc():
    body = example("assessment")
    del body["setup"]["assessment"]["source"]
    nb = check("assessment", body)
    assert parameters_of(nb)["source"] == "grdc"
    assert "get_grdc_data(" in all_code(nb)


@pytest.mark.parametrize(
    ("runner", "client"),
    [
        (None, "BmiClientDocker"),
        ("docker", "BmiClientDocker"),
        ("apptainer", "BmiClientApptainer"),
        ("local", "BmiClientSubProcess"),
    ],
)
@pytest.mark.parametrize("kind", ["bmi", "assessment"])
def test_runner_selects_the_grpc4bmi_client(kind, runner, client):
    body = example(kind)
    if runner is not None:
        body["setup"]["model"]["runner"] = runner
    nb = check(kind, body)
    code = all_code(nb)
    clients = {"BmiClientDocker", "BmiClientApptainer", "BmiClientSubProcess"}
    assert [name for name in clients if name + "(" in code] == [client]
    assert parameters_of(nb)["runner"] == (runner or "docker")
    if runner == "local":
        assert parameters_of(nb)["model_path"] is None
        assert "path=model_path, delay=0, timeout=" in code


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("PCR-GLOBWB", '"globalOptions"'),
        ("pcrglobwb", '"globalOptions"'),
        ("wflow", '"wflow_ewatercycle.ini"'),
        ("Wflow", '"wflow_ewatercycle.ini"'),
        ("Walrus", 'config["data"]'),
    ],
)
def test_model_specific_config_tweaks(name, marker):
    body = example("assessment")
    body["setup"]["model"]["name"] = name
    code = all_code(check("assessment", body))
    assert marker in code
    others = {'"globalOptions"', '"wflow_ewatercycle.ini"', 'config["data"]'} - {marker}
    assert not [other for other in others if other in code]


def test_unknown_model_gets_no_tweaks():
    body = example("assessment")
    body["setup"]["model"]["name"] = "LeakyBucket"
    code = all_code(check("assessment", body))
    assert "globalOptions" not in code
    assert "wflow_ewatercycle.ini" not in code
    assert 'key.endswith("_file")' not in code


@pytest.mark.parametrize("name", ["HBV", "hbv"])
def test_lumped_model_is_read_whole_and_has_no_map(name):
    body = example("assessment")
    body["setup"]["model"]["name"] = name
    code = all_code(check("assessment", body))
    assert 'key.endswith("_file")' in code
    assert "model.get_value(variable, value)" in code
    assert "get_value_at_indices" not in code
    assert "pcolormesh" not in code
    assert "series.plot()" in code


def test_without_plotting_there_are_no_plots():
    body = example("bmi")
    del body["setup"]["plotting"]
    nb = check("bmi", body)
    assert "matplotlib" not in all_code(nb)
    assert "variable" not in parameters_of(nb)


def test_with_plotting_field_and_series_are_plotted():
    code = all_code(check("bmi", example("bmi")))
    assert "pcolormesh" in code
    assert "series.plot()" in code
    assert "get_value_at_indices(variable" in code


def test_assessment_reports_the_three_skill_metrics():
    code = all_code(check("assessment", example("assessment")))
    for metric in ("HydroErr.me(", "HydroErr.nse(", "HydroErr.sa(", "hydrograph("):
        assert metric in code


def test_threeclickscience_is_python3_ewatercycle2():
    code = all_code(check("threeclickscience", example("threeclickscience")))
    assert "ewatercycle.models.sources" in code
    assert "model.setup(start_time=start_time, end_time=end_time)" in code
    assert "hymuse" not in code.lower()
    assert "parametersetdb" not in code


def threeclickscience(model, region, start="2000-01-01T00:00:00Z", end="2000-01-31T00:00:00Z"):
    body = example("threeclickscience")
    body["setup"] = {"model": model, "region": region, "period": {"start": start, "end": end}}
    return body


@pytest.mark.parametrize("region", ["camels_01022500", "camelsgb_10002", "hysets_01AD002"])
def test_a_caravan_basin_is_forced_by_caravan(region):
    code = all_code(check("threeclickscience", threeclickscience("HBV", region)))
    assert 'forcing_sources["CaravanForcing"]' in code
    assert "CaravanForcing.generate(" in code
    assert "model = Model(forcing=forcing)" in code
    assert '"initial_storage"' in code
    assert "parameter_sets" not in code


def test_other_lumped_models_get_no_hbv_settings():
    code = all_code(check("threeclickscience", threeclickscience("Leaky-Bucket", "camels_0102")))
    assert "settings = {}" in code
    assert '"initial_storage"' not in code


@pytest.mark.parametrize("region", ["Rhine", "donau", "rhine meuse", "Camels_01022500", "a_b_c"])
def test_other_regions_name_a_parameter_set(region):
    code = all_code(check("threeclickscience", threeclickscience("wflow", region)))
    assert "model = Model(parameter_set=parameter_set)" in code
    assert "CaravanForcing" not in code


def test_the_model_name_is_normalised_once():
    """One definition serves the launcher and the notebook."""
    code = all_code(check("threeclickscience", threeclickscience("HBV", "camels_01022500")))
    assert code.count("def normalized(") == 1
    for kind in KINDS:
        assert all_code(build(kind, example(kind))).count("def normalized(") <= 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2000-01-31T00:00:00Z", "2000-01-01T00:00:00Z"),
        ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"),
        ("2000-01-01T12:00:00+02:00", "2000-01-01T09:00:00Z"),
    ],
)
def test_a_period_that_does_not_move_forward_is_refused(start, end):
    with pytest.raises(ValueError, match="period.end"):
        build("threeclickscience", threeclickscience("HBV", "camels_01022500", start, end))


@pytest.mark.parametrize("region", ["Rhine", "camels 01022500", "camels-01022500", ""])
def test_a_known_lumped_model_needs_a_caravan_basin(region):
    with pytest.raises(ValueError, match="camels_01022500"):
        build("threeclickscience", threeclickscience("HBV", region))


def test_a_period_of_one_day_is_accepted():
    body = threeclickscience("HBV", "camels_01022500", end="2000-01-02T00:00:00Z")
    check("threeclickscience", body)


def test_no_removed_apis_or_github_svn():
    for kind, body in VARIANTS:
        text = "".join(cell.source for cell in other_cells(build(kind, body)))
        assert "build_from_urls" not in text
        assert "/trunk" not in text


def test_unknown_kind_is_refused():
    with pytest.raises(KeyError):
        build("nope", {"notebook": NOTEBOOK})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("kind", ["bmi", "assessment"])
def test_non_finite_numbers_are_refused(kind, value):
    body = example(kind)
    body["setup"]["plotting" if kind == "bmi" else "assessment"]["index"] = value
    with pytest.raises(ValueError):
        build(kind, body)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("bmi", ("setup", "model", "runner"), "kubernetes"),
        ("bmi", ("setup", "datafiles", "format"), "symlink"),
        ("bmi", ("setup", "config", "format"), "xml"),
        ("assessment", ("setup", "assessment", "source"), "grdc "),
    ],
)
def test_unsupported_choices_are_refused(kind, path, value):
    body = example(kind)
    put(body, path, value)
    with pytest.raises(ValueError):
        build(kind, body)


def test_lone_surrogates_and_control_characters_round_trip():
    body = example("opendap")
    body["opendap"] = "http://h/\ud800\x00\x1b\r\n\u2028"
    nb = check("opendap", body)
    nbformat.writes(nb)


def test_huge_values_round_trip():
    body = example("bmi")
    body["setup"]["config"]["url"] = "https://e.org/" + "\"'\\" * 100_000
    body["setup"]["plotting"]["index"] = 10**300
    check("bmi", body)
    body["setup"]["plotting"]["index"] = 1e308
    check("bmi", body)


# Property tests: any value in any field still gives a sound notebook.

FIELDS = [
    (kind, path)
    for kind in KINDS
    for path, _ in PARAMETERS[kind]
    if path[-1] != "index" and path not in CHOICES
]
NUMBER_FIELDS = [
    (kind, path) for kind in KINDS for path, _ in PARAMETERS[kind] if path[-1] == "index"
]
PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def body_with(kind, path, value):
    body = example(kind)
    if path[-1] == "path":
        body["setup"]["model"]["runner"] = "local"
    put(body, path, value)
    return body


@pytest.mark.parametrize(("kind", "path"), FIELDS, ids=[k + ":" + ".".join(p) for k, p in FIELDS])
@PROPERTY
@given(value=st.text())
def test_any_text_in_any_field(kind, path, value):
    check(kind, body_with(kind, path, value))


@pytest.mark.parametrize(
    ("kind", "path"), NUMBER_FIELDS, ids=[k + ":" + ".".join(p) for k, p in NUMBER_FIELDS]
)
@PROPERTY
@given(value=st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_any_number_in_any_number_field(kind, path, value):
    check(kind, body_with(kind, path, value))


CHOICE_FIELDS = [(kind, path) for kind in KINDS for path, _ in PARAMETERS[kind] if path in CHOICES]


@pytest.mark.parametrize(
    ("kind", "path"), CHOICE_FIELDS, ids=[k + ":" + ".".join(p) for k, p in CHOICE_FIELDS]
)
@PROPERTY
@given(data=st.data())
def test_choice_fields_accept_their_choices_only(kind, path, data):
    value = data.draw(st.sampled_from(CHOICES[path]) | st.text())
    body = body_with(kind, path, value)
    if value in CHOICES[path]:
        check(kind, body)
    else:
        with pytest.raises(ValueError):
            build(kind, body)
