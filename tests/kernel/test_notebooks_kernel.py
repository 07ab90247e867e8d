"""The generated notebooks, executed headless in the kernel environment.

Everything runs on this machine: an OPeNDAP server and a file server on
127.0.0.1, a pure numpy BMI model started by grpc4bmi as a local process, and
GRDC observations from a station file written here.
"""

from __future__ import annotations

import json
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


def write_grdc_station(folder: Path) -> None:
    """Observations are the toy model's discharge plus 1 on the simulated days."""
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
        "2000-01-01;--:--;      5.000",
    ]
    rows = [
        f"2000-01-{day + 2:02d};--:--;{rain * WEIGHT + 1:11.3f}" for day, rain in enumerate(RAIN)
    ]
    rows.append("2000-01-12;--:--;   -999.000")
    text = "\n".join(header + rows) + "\n"
    (folder / f"{STATION}_Q_Day.Cmd.txt").write_bytes(text.encode("cp1252"))


def expected_metrics():
    simulated = [rain * WEIGHT for rain in RAIN]
    observed = [value + 1 for value in simulated]
    mean = sum(observed) / len(observed)
    squared_errors = sum((s - o) ** 2 for s, o in zip(simulated, observed, strict=True))
    nse = 1 - squared_errors / sum((o - mean) ** 2 for o in observed)
    return {"mean error": -1.0, "Nash-Sutcliffe efficiency": nse}


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
    write_grdc_station(grdc)
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
    for metric, value in expected_metrics().items():
        assert metrics[metric] == pytest.approx(value)
    assert metrics["spectral angle"] == pytest.approx(metrics["spectral angle"])
    assert images(nb) == 3
    assert (work / "output" / written).exists()
    assert (work / "output" / "toy_discharge.txt").exists()


WFLOW_PARAMETER_SET_INI = """[run]
starttime = 1991-01-01 00:00:00
endtime = 1991-12-31 00:00:00

[model]
ModelSnapshot = 0
"""


def threeclickscience(region):
    setup = {
        "model": "wflow",
        "region": region,
        "period": {"start": "2014-01-01T00:00:00Z", "end": "2014-01-31T00:00:00Z"},
    }
    return build("threeclickscience", {"notebook": NOTEBOOK, "setup": setup})


def first_error(nb):
    (index, ename, evalue), *_ = errors(nb)
    return nb.cells[index].source, ename, evalue


ESMVALTOOL_STUB = {"PYTHONPATH": str(Path(__file__).with_name("stubs"))}


def test_threeclickscience_needs_esmvaltool(execute, tmp_path):
    """ewatercycle.models cannot be imported in a pip-only environment."""
    nb = execute(threeclickscience("Rhine"), tmp_path)
    source, ename, evalue = first_error(nb)
    assert source.startswith("import ewatercycle.models")
    assert ename == "ESMValToolNotFoundError"


def test_threeclickscience_unknown_region(execute, tmp_path):
    """There is no wflow parameter set for the Danube: the notebook says so."""
    nb = execute(threeclickscience("donau"), tmp_path, env=ESMVALTOOL_STUB)
    source, ename, evalue = first_error(nb)
    assert source.startswith("parameter_sets = ")
    assert ename == "LookupError"
    assert "wflow_rhine_sbm_nc" in evalue


def test_threeclickscience_up_to_the_container(execute, tmp_path):
    """Offline it runs until the model container has to start.

    The example parameter set is put where ewatercycle would have downloaded
    it (CFG.parameterset_dir, the notebook folder by default), so the plugin
    lookup, parameter set selection, model construction and config writing
    all run; starting the wflow container needs Docker and the image.
    """
    parameter_set = tmp_path / "wflow_rhine_sbm_nc"
    parameter_set.mkdir()
    (parameter_set / "wflow_sbm_NC.ini").write_text(WFLOW_PARAMETER_SET_INI)
    nb = execute(threeclickscience("Rhine"), tmp_path, env=ESMVALTOOL_STUB)
    source, ename, evalue = first_error(nb)
    assert source.startswith("model = Model(parameter_set=parameter_set)")
    (work_dir,) = tmp_path.glob("wflow_2*")
    written = (work_dir / "wflow_ewatercycle.ini").read_text()
    assert "starttime = 2014-01-01 00:00:00" in written
    assert "endtime = 2014-01-31 00:00:00" in written
    assert ename == "DockerException"


TOY_EWATERCYCLE_MODEL = """
import sys
sys.path.insert(0, {models!r})
from ewatercycle.base.model import LocalModel
from toy_bmi import ToyBmi


class ToyModel(LocalModel):
    bmi_class: type = ToyBmi


model = ToyModel()
model._bmi = model._make_bmi_instance()
model.initialize("model.ini")
discharge_name = "discharge"
"""


def test_threeclickscience_run_and_plot(execute, tmp_path):
    """The day by day run and the plot, on an eWaterCycle LocalModel around the
    toy BMI model instead of the wflow container."""
    (tmp_path / "rain.txt").write_text("\n".join(str(value) for value in RAIN))
    (tmp_path / "model.ini").write_text(WFLOW_STYLE_INI)
    nb = threeclickscience("Rhine")
    needs_container = ("model_classes = ", "parameter_sets = ", "model = Model(")
    nb.cells = [cell for cell in nb.cells if not cell.source.startswith(needs_container)]
    first_run_cell = next(i for i, cell in enumerate(nb.cells) if cell.source.startswith("days"))
    from nbformat.v4 import new_code_cell

    nb.cells.insert(
        first_run_cell, new_code_cell(TOY_EWATERCYCLE_MODEL.format(models=str(MODELS)))
    )
    nb = appended(nb, "print(discharge.index[0].date(), outlet, list(discharge))")
    nb = execute(nb, tmp_path, env=ESMVALTOOL_STUB)
    assert errors(nb) == []
    assert images(nb) == 1
    outlet = 11
    expected = [rain * (outlet + 1) for rain in RAIN]
    assert text(code_cells(nb)[-1]) == f"2000-01-02 {outlet} {expected}\n"
