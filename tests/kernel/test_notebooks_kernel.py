"""The generated notebooks, executed headless in the kernel environment.

Everything runs on this machine: an OPeNDAP server and a file server on
127.0.0.1, a pure numpy BMI model started by grpc4bmi as a local process, the
HBV model (in process through its eWaterCycle plugin, or through grpc4bmi) forced
by a small Caravan-format dataset written here, and GRDC observations from a
station file written here.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from ewatercycle_experiment_launcher.notebooks import build

from .conftest import KERNEL_VENV

pytestmark = pytest.mark.kernel

NOTEBOOK = {"directory": "experiments"}
MODELS = Path(__file__).with_name("models")
RAIN = [1.5, 2.0, 0.0, 3.25, 1.0, 0.5, 2.5, 4.0, 1.25, 0.75]
INDEX = 5
WEIGHT = INDEX + 1
STATION = "6970500"

PCRGLOBWB_STYLE_INI = """[globalOptions]
inputDir = /nonexistent/original/input
outputDir = /nonexistent/original/output

[model]
forcing = rain.txt
end_time = 10
"""

WFLOW_STYLE_INI = """[run]
starttime = 2000-01-01 00:00:00

[model]
forcing = rain.txt
end_time = 10
"""

WALRUS_STYLE_YAML = """data: /nonexistent/original/rain.txt
end_time: 10
"""


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def errors(nb):
    return [
        (index, output.ename, output.evalue)
        for index, cell in enumerate(nb.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


def text(cell):
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output and "text/plain" in output.data:
            parts.append(output.data["text/plain"])
    return "".join(parts)


def images(nb):
    return sum(
        "image/png" in output.get("data", {})
        for cell in code_cells(nb)
        for output in cell.get("outputs", [])
    )


def appended(nb, source):
    """The notebook with one extra code cell, to read results back out."""
    from nbformat.v4 import new_code_cell

    nb.cells.append(new_code_cell(source))
    return nb


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_hello(execute, tmp_path):
    nb = execute(build("hello", {"notebook": NOTEBOOK}), tmp_path)
    assert errors(nb) == []
    assert text(code_cells(nb)[-1]) == "hello world\n"


WRITE_NETCDF = """
import numpy as np, xarray as xr
xr.Dataset(
    {"tas": (("time", "lat", "lon"), np.arange(24.0).reshape(2, 3, 4), {"units": "K"})},
    coords={"time": [0, 1], "lat": [50.0, 51.0, 52.0], "lon": [4.0, 5.0, 6.0, 7.0]},
).to_netcdf("tiny.nc")
"""


@pytest.fixture
def opendap_server(tmp_path, run_kernel_python):
    data = tmp_path / "opendap"
    data.mkdir()
    run_kernel_python(WRITE_NETCDF, data)
    assert (data / "tiny.nc").stat().st_size < 12_000
    port = free_port()
    server = subprocess.Popen(
        [str(KERNEL_VENV / "bin" / "pydap"), "--data", str(data), "--bind", "127.0.0.1"]
        + ["--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/tiny.nc.das")
        yield f"http://127.0.0.1:{port}/tiny.nc"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_opendap(execute, tmp_path, opendap_server):
    nb = build("opendap", {"notebook": NOTEBOOK, "opendap": opendap_server})
    nb = appended(nb, 'print(float(dataset["tas"].load().sum()))')
    nb = execute(nb, tmp_path)
    assert errors(nb) == []
    assert "tas" in text(code_cells(nb)[-2])
    assert text(code_cells(nb)[-1]) == "276.0\n"


def make_parameter_set(served: Path, data_format: str) -> str:
    """Puts rain.txt on the file server in the given format; returns its URL path.

    A plain HTTP file server only offers git's dumb protocol, which cannot make
    the shallow clone the notebook asks for, so git is served as a file:// URL.
    """
    content = served / "content"
    content.mkdir()
    (content / "rain.txt").write_text("\n".join(str(value) for value in RAIN) + "\n")
    if data_format == "file":
        shutil.copy(content / "rain.txt", served / "rain.txt")
        return "/rain.txt"
    if data_format == "zip":
        with zipfile.ZipFile(served / "set.zip", "w") as archive:
            archive.write(content / "rain.txt", "toyset/rain.txt")
        return "/set.zip"
    if data_format == "tar":
        with tarfile.open(served / "set.tar.gz", "w:gz") as archive:
            archive.add(content / "rain.txt", "toyset/rain.txt")
        return "/set.tar.gz"
    assert data_format == "git"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(content)], check=True)
    subprocess.run([*git, "-C", str(content), "add", "rain.txt"], check=True)
    subprocess.run([*git, "-C", str(content), "commit", "-qm", "rain"], check=True)
    bare = served / "toyset.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(content), str(bare)], check=True)
    return bare.as_uri()


def model_setup(
    served, base_url, data_format="file", config=PCRGLOBWB_STYLE_INI, name="model.ini"
):
    url_path = make_parameter_set(served, data_format)
    (served / name).write_text(config)
    url = url_path if data_format == "git" else base_url + url_path
    return {
        "model": {"grpc4bmi_container": "toy_bmi.ToyBmi", "runner": "local", "path": str(MODELS)},
        "datafiles": {"format": data_format, "url": url},
        "config": {"format": Path(name).suffix[1:], "url": base_url + "/" + name},
    }


READ_VALUES = "import json\nprint(json.dumps([float(value) for value in values]))"


@pytest.mark.parametrize(
    "data_format",
    ["file", "zip", "tar", "git"] if shutil.which("git") else ["file", "zip", "tar"],
)
def test_bmi(execute, tmp_path, file_server, data_format):
    served, base_url = file_server
    setup = model_setup(served, base_url, data_format)
    setup["plotting"] = {"variable": "discharge", "index": INDEX}
    work = tmp_path / "work"
    work.mkdir()
    nb = execute(appended(build("bmi", {"notebook": NOTEBOOK, "setup": setup}), READ_VALUES), work)
    assert errors(nb) == []
    assert json.loads(text(code_cells(nb)[-1])) == [rain * WEIGHT for rain in RAIN]
    assert images(nb) == 2
    assert (work / "input" / "rain.txt").exists()
    config = (work / "output" / "model.ini").read_text()
    assert f"inputDir = {work / 'input'}" in config
    assert f"outputDir = {work / 'output'}" in config
    final = [float(line) for line in (work / "output" / "toy_discharge.txt").read_text().split()]
    assert final[INDEX] == RAIN[-1] * WEIGHT


def test_bmi_without_plotting(execute, tmp_path, file_server):
    served, base_url = file_server
    setup = model_setup(served, base_url)
    nb = execute(build("bmi", {"notebook": NOTEBOOK, "setup": setup}), tmp_path)
    assert errors(nb) == []
    assert images(nb) == 0
    assert (tmp_path / "output" / "toy_discharge.txt").exists()


def write_grdc_station(folder: Path, rows: list[tuple[str, float]]) -> None:
    """A GRDC daily discharge file for STATION with the given (date, value) rows."""
    folder.mkdir()
    header = [
        "# Title:                 GRDC STATION DATA FILE",
        "#                        --------------",
        "# Format:                DOS-ASCII",
        "# Field delimiter:       ;",
        "# missing values are indicated by -999.000",
        "#",
        "# file generation date:  2024-01-01",
        "#",
        f"# GRDC-No.:              {STATION}",
        "# River:                 TOY RIVER",
        "# Station:               TOY STATION",
        "# Country:               NL",
        "# Latitude (DD):       51.0",
        "# Longitude (DD):      4.0",
        "# Catchment area (km\u00b2):      100.0",
        "# Altitude (m ASL):        1.0",
        "# Next downstream station:      -",
        "# Remarks:",
        "#************************************************************",
        "#",
        "# Data Set Content:      MEAN DAILY DISCHARGE (Q)",
        "#                        --------------------",
        "# Unit of measure:                  m\u00b3/s",
        "# Time series:           2000-01 - 2000-01",
        "# No. of years:          1",
        "# Last update:           2024-01-01",
        "#",
        "# Table Header:",
        "#     YYYY-MM-DD - Date",
        "#     hh:mm      - Time",
        "#     Value   - original (provided) data",
        "#************************************************************",
        "#",
        "# DATA",
        "YYYY-MM-DD;hh:mm; Value",
    ]
    lines = [f"{day};--:--;{value:11.6f}" for day, value in rows]
    text = "\n".join(header + lines) + "\n"
    (folder / f"{STATION}_Q_Day.Cmd.txt").write_bytes(text.encode("cp1252"))


def toy_station_rows():
    """The toy model's discharge plus 1 on the simulated days, a day before them and a
    missing value after them."""
    rows = [("2000-01-01", 5.0)]
    rows += [(f"2000-01-{day + 2:02d}", rain * WEIGHT + 1) for day, rain in enumerate(RAIN)]
    return [*rows, ("2000-01-12", -999.0)]


def expected_metrics(simulated, observed):
    """Mean error, Nash-Sutcliffe efficiency and spectral angle, from their definitions."""
    pairs = list(zip(simulated, observed, strict=True))
    mean = sum(observed) / len(observed)
    squared_errors = sum((s - o) ** 2 for s, o in pairs)
    dot = sum(s * o for s, o in pairs)
    norms = math.sqrt(sum(s * s for s in simulated)) * math.sqrt(sum(o * o for o in observed))
    return {
        "mean error": sum(s - o for s, o in pairs) / len(pairs),
        "Nash-Sutcliffe efficiency": 1 - squared_errors / sum((o - mean) ** 2 for o in observed),
        "spectral angle": math.acos(dot / norms),
    }


@pytest.mark.parametrize(
    ("name", "config", "config_name", "written"),
    [
        ("PCR-GLOBWB", PCRGLOBWB_STYLE_INI, "model.ini", "pcrglobwb_ewatercycle.ini"),
        ("wflow", WFLOW_STYLE_INI, "model.ini", "wflow_ewatercycle.ini"),
        ("Walrus", WALRUS_STYLE_YAML, "model.yaml", "model.yaml"),
    ],
)
def test_assessment_grdc(execute, tmp_path, file_server, name, config, config_name, written):
    served, base_url = file_server
    setup = model_setup(served, base_url, config=config, name=config_name)
    setup["model"]["name"] = name
    grdc = tmp_path / "grdc"
    write_grdc_station(grdc, toy_station_rows())
    setup["assessment"] = {
        "variable": "discharge",
        "index": INDEX,
        "source": "grdc",
        "station_id": STATION,
        "data_home": str(grdc),
    }
    work = tmp_path / "work"
    work.mkdir()
    nb = build("assessment", {"notebook": NOTEBOOK, "setup": setup})
    nb = appended(nb, "import json\nprint(json.dumps(metrics.to_dict()))")
    nb = execute(nb, work)
    assert errors(nb) == []
    metrics = json.loads(text(code_cells(nb)[-1]))
    simulated = [rain * WEIGHT for rain in RAIN]
    expected = expected_metrics(simulated, [value + 1 for value in simulated])
    assert expected["mean error"] == pytest.approx(-1.0)
    assert metrics == pytest.approx(expected)
    assert images(nb) == 3
    assert (work / "output" / written).exists()
    assert (work / "output" / "toy_discharge.txt").exists()


# The real HBV model, forced by Caravan data written here.

STUBS = Path(__file__).with_name("stubs")
CARAVAN_WRITER = Path(__file__).parent / "data" / "caravan.py"
BASIN = "camels_01022500"
JANUARY = {"start": "2000-01-01T00:00:00Z", "end": "2000-01-31T00:00:00Z"}
# ESMValTool and ESMValCore only install with conda; ewatercycle.models and
# ewatercycle.forcing import them eagerly, so a stand-in is put on the path. Neither
# Caravan forcing nor HBV uses them.
ESMVALTOOL_STUB = {"PYTHONPATH": str(STUBS)}

RUN_HBV_BMI = """
import json
import numpy as np
import pandas as pd
from HBV import HBV

model = HBV()
model.initialize({config!r})
discharge = []
while model.get_current_time() < model.get_end_time():
    model.update()
    day = pd.Timestamp(model.get_current_time(), unit="s")
    discharge.append((day.strftime("%Y-%m-%d"), float(model.get_value("Q", np.empty(1))[0])))
print(json.dumps(discharge))
"""


@pytest.fixture(scope="session")
def caravan_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("caravan")
    result = subprocess.run(
        [str(KERNEL_VENV / "bin" / "python"), str(CARAVAN_WRITER), str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return cache


@pytest.fixture
def hbv_env(caravan_cache):
    """What an eWaterCycle machine has: ESMValTool (here its stand-in) and a local
    Caravan copy named by ewatercycle's CARAVAN_CACHE variable."""
    return {**ESMVALTOOL_STUB, "CARAVAN_CACHE": str(caravan_cache)}


def hbv_discharge(run_kernel_python, config: Path, cwd: Path) -> list[tuple[str, float]]:
    """HBV's discharge after each daily step, from its BMI class driven directly."""
    output = run_kernel_python(RUN_HBV_BMI.format(config=str(config)), cwd)
    return [tuple(row) for row in json.loads(output)]


def threeclickscience(model, region, period=JANUARY):
    setup = {"model": model, "region": region, "period": period}
    return build("threeclickscience", {"notebook": NOTEBOOK, "setup": setup})


def first_error(nb):
    (index, ename, evalue), *_ = errors(nb)
    return nb.cells[index].source, ename, evalue


def test_threeclickscience_runs_hbv_on_caravan_forcing(
    execute, tmp_path, hbv_env, run_kernel_python
):
    started = time.monotonic()
    nb = execute(threeclickscience("HBV", BASIN), tmp_path, env=hbv_env)
    seconds = time.monotonic() - started
    assert errors(nb) == []
    printed = "".join(text(cell) for cell in code_cells(nb))
    assert "HBVLocal runs in this process" in printed
    assert "pr converted from kg m-2 s-1 to mm d-1" in printed
    assert "tas converted from K to °C" in printed
    assert images(nb) == 1
    assert (tmp_path / "discharge.png").stat().st_size > 1000
    forcing = sorted(path.name for path in (tmp_path / "forcing").glob("*.nc"))
    assert f"{BASIN}_2000-01-01_2000-01-31_pr.nc" in forcing
    saved = (tmp_path / "discharge.csv").read_text().split()[1:]
    days = [line.split(",")[0] for line in saved]
    assert days[0] == "2000-01-02" and days[-1] == "2000-01-31" and len(days) == 30
    expected = hbv_discharge(run_kernel_python, tmp_path / "model" / "HBV_config.json", tmp_path)
    assert [(day, pytest.approx(value)) for day, value in expected] == [
        (line.split(",")[0], float(line.split(",")[1])) for line in saved
    ]
    print(f"threeclickscience HBV {BASIN} January 2000: {seconds:.1f} s")


@pytest.mark.parametrize(
    ("model", "region", "period", "cell", "ename", "says"),
    [
        ("NoSuchModel", BASIN, JANUARY, "installed = ", "LookupError", "'HBV'"),
        (
            "HBV",
            BASIN,
            {"start": "1990-01-01T00:00:00Z", "end": "1990-02-01T00:00:00Z"},
            "CaravanForcing = ",
            "ValueError",
            "available from 2000-01-01 to 2000-03-31",
        ),
        ("HBV", "camels_99", JANUARY, "CaravanForcing = ", "LookupError", "camels_01013500"),
        ("HBV", "lamah_1", JANUARY, "CaravanForcing = ", "LookupError", "'lamah'"),
        ("wflow", BASIN, JANUARY, "if Model.model_fields", "LookupError", "parameter set"),
    ],
)
def test_threeclickscience_stops_where_it_can_tell(
    execute, tmp_path, hbv_env, model, region, period, cell, ename, says
):
    nb = execute(threeclickscience(model, region, period), tmp_path, env=hbv_env)
    source, error_name, message = first_error(nb)
    assert source.startswith(cell)
    assert error_name == ename
    assert says in message


def test_threeclickscience_lumped_model_needs_a_basin(execute, tmp_path, hbv_env):
    """The launcher refuses HBV for a region that is no Caravan basin; a user who sets
    model_name in the parameters cell afterwards is told by the notebook."""
    nb = threeclickscience("wflow", "Rhine")
    (parameters,) = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    parameters.source = parameters.source.replace("model_name = 'wflow'", "model_name = 'HBV'")
    nb = execute(nb, tmp_path, env=hbv_env)
    source, ename, evalue = first_error(nb)
    assert source.startswith("if not Model.model_fields")
    assert ename == "LookupError"
    assert "camels_01022500" in evalue and "'Rhine'" in evalue


def test_threeclickscience_needs_esmvaltool(execute, tmp_path):
    """ewatercycle.models cannot be imported in a pip-only environment."""
    nb = execute(threeclickscience("wflow", "Rhine"), tmp_path)
    source, ename, evalue = first_error(nb)
    assert "import ewatercycle.models" in source
    assert ename == "ESMValToolNotFoundError"


def test_threeclickscience_unknown_region(execute, tmp_path):
    """There is no wflow parameter set for the Danube: the notebook says so."""
    nb = execute(threeclickscience("wflow", "donau"), tmp_path, env=ESMVALTOOL_STUB)
    source, ename, evalue = first_error(nb)
    assert source.startswith("parameter_sets = ")
    assert ename == "LookupError"
    assert "wflow_rhine_sbm_nc" in evalue


WFLOW_PARAMETER_SET_INI = """[run]
starttime = 1991-01-01 00:00:00
endtime = 1991-12-31 00:00:00

[model]
ModelSnapshot = 0
"""


def test_threeclickscience_wflow_up_to_the_container(execute, tmp_path):
    """Offline a distributed model runs until its container has to start.

    The example parameter set is put where ewatercycle would have downloaded
    it (CFG.parameterset_dir, the notebook folder by default), so the plugin
    lookup, parameter set selection, model construction and config writing
    all run; starting the wflow container needs Docker and the image.
    """
    parameter_set = tmp_path / "wflow_rhine_sbm_nc"
    parameter_set.mkdir()
    (parameter_set / "wflow_sbm_NC.ini").write_text(WFLOW_PARAMETER_SET_INI)
    period = {"start": "2014-01-01T00:00:00Z", "end": "2014-01-31T00:00:00Z"}
    nb = execute(threeclickscience("wflow", "Rhine", period), tmp_path, env=ESMVALTOOL_STUB)
    source, ename, evalue = first_error(nb)
    assert source.startswith("model = Model(parameter_set=parameter_set)")
    (work_dir,) = tmp_path.glob("wflow_2*")
    written = (work_dir / "wflow_ewatercycle.ini").read_text()
    assert "starttime = 2014-01-01 00:00:00" in written
    assert "endtime = 2014-01-31 00:00:00" in written
    assert ename == "DockerException"


def hbv_parameter_set(served: Path, threeclick: Path, base_url: str) -> dict:
    """What the three-click notebook set up, served: its forcing files as a tar archive
    and the HBV config it wrote, which names them by paths of that folder."""
    with tarfile.open(served / "forcing.tar.gz", "w:gz") as archive:
        for path in sorted((threeclick / "forcing").glob("*.nc")):
            archive.add(path, f"forcing/{path.name}")
    shutil.copy(threeclick / "model" / "HBV_config.json", served / "HBV_config.json")
    return {
        "model": {"name": "HBV", "grpc4bmi_container": "HBV.HBV", "runner": "local"},
        "datafiles": {"format": "tar", "url": base_url + "/forcing.tar.gz"},
        "config": {"format": "json", "url": base_url + "/HBV_config.json"},
    }


def test_assessment_hbv_against_grdc(execute, tmp_path, file_server, hbv_env, run_kernel_python):
    """The HBV set-up of the three-click notebook, run through grpc4bmi and scored
    against a GRDC station; the metrics are computed here from HBV's own BMI run."""
    served, base_url = file_server
    threeclick = tmp_path / "threeclick"
    threeclick.mkdir()
    assert errors(execute(threeclickscience("HBV", BASIN), threeclick, env=hbv_env)) == []
    setup = hbv_parameter_set(served, threeclick, base_url)
    config = threeclick / "model" / "HBV_config.json"
    simulated = hbv_discharge(run_kernel_python, config, tmp_path)
    observed = [
        (day, round(value * 1.1 + 0.002 * (number % 3), 6))
        for number, (day, value) in enumerate(simulated)
    ]
    grdc = tmp_path / "grdc"
    write_grdc_station(grdc, [*observed, ("2000-02-01", -999.0)])
    setup["assessment"] = {
        "variable": "Q",
        "index": 0,
        "source": "grdc",
        "station_id": STATION,
        "data_home": str(grdc),
    }
    work = tmp_path / "work"
    work.mkdir()
    nb = build("assessment", {"notebook": NOTEBOOK, "setup": setup})
    nb = appended(nb, "import json\nprint(json.dumps(metrics.to_dict()))")
    nb = execute(nb, work)
    assert errors(nb) == []
    metrics = json.loads(text(code_cells(nb)[-1]))
    expected = expected_metrics(
        [value for _, value in simulated], [value for _, value in observed]
    )
    assert metrics == pytest.approx(expected)
    assert 0.5 < expected["Nash-Sutcliffe efficiency"] < 1
    assert images(nb) == 2
    written = json.loads((work / "output" / "HBV_config.json").read_text())
    original = json.loads(config.read_text())
    for key in ("precipitation_file", "potential_evaporation_file", "mean_temperature_file"):
        assert written[key] == str(work / "input" / Path(original[key]).name)
