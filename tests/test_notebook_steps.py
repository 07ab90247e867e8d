"""The notebook step files: each declares what it needs and provides, and the
declarations are true; they lint like any other code and ship in the wheel."""

from __future__ import annotations

import ast
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyflakes.api
import pyflakes.messages
import pyflakes.reporter
import pytest

from ewatercycle_experiment_launcher.notebooks import stepfiles
from ewatercycle_experiment_launcher.notebooks.stepfiles import StepOrderError, check_order

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "ewatercycle_experiment_launcher" / "notebooks" / "steps"
STEP_FILES = sorted(FOLDER.glob("*.py"))


class _Collector(pyflakes.reporter.Reporter):
    def __init__(self):
        super().__init__(io.StringIO(), io.StringIO())
        self.messages = []

    def flake(self, message):
        self.messages.append(message)


def undefined_names(text: str) -> set[str]:
    """Names the step uses without defining them, as pyflakes finds them."""
    collector = _Collector()
    pyflakes.api.check(text, "step.py", collector)
    return {
        message.message_args[0]
        for message in collector.messages
        if isinstance(message, pyflakes.messages.UndefinedName)
    }


class _Bindings(ast.NodeVisitor):
    """Names bound at the top level of a module (not inside functions or classes)."""

    def __init__(self):
        self.names = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)

    visit_ClassDef = visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda


def bound_names(text: str) -> set[str]:
    visitor = _Bindings()
    visitor.visit(ast.parse(text))
    return visitor.names


def contract_problems(name: str, text: str) -> list[str]:
    """What is wrong with a step's declared needs and provides."""
    step = stepfiles.parse(name, text)
    used = undefined_names(text)
    problems = []
    if used - step.needs:
        problems.append(f"uses {sorted(used - step.needs)} without declaring them")
    if step.needs - used:
        problems.append(f"declares {sorted(step.needs - used)} that it never uses")
    if step.provides - bound_names(text):
        problems.append(f"provides {sorted(step.provides - bound_names(text))} it never defines")
    return problems


@pytest.mark.parametrize("path", STEP_FILES, ids=[path.stem for path in STEP_FILES])
def test_declarations_are_true(path):
    assert contract_problems(path.stem, path.read_text(encoding="utf-8")) == []


@pytest.fixture
def broken_period_step():
    """The assessment's period step with one need left out of its header, as if a
    maintainer used a name of an earlier step without saying so."""
    text = (FOLDER / "assessment_period.py").read_text(encoding="utf-8")
    header = "# needs: time_units, timestamps, values\n"
    assert header in text
    return text.replace(header, "# needs: timestamps, values\n")


def test_an_undeclared_name_is_caught(broken_period_step):
    problems = contract_problems("assessment_period", broken_period_step)
    assert problems == ["uses ['time_units'] without declaring them"]


def test_a_missing_import_is_caught():
    text = (FOLDER / "assessment_tweak_wflow.py").read_text(encoding="utf-8")
    assert contract_problems("assessment_tweak_wflow", text.replace("import shutil\n", "")) == [
        "uses ['shutil'] without declaring them"
    ]


def test_a_need_no_earlier_step_provides_is_refused():
    """The period step relies on the recorded series; without the steps that record
    it the notebook is not assembled."""
    recorded = [stepfiles.load(name) for name in ("bmi_run_recording", "bmi_series")]
    period = stepfiles.load("assessment_period")
    parameters = {"model", "variable", "index"}
    check_order(parameters, [*recorded, period])
    with pytest.raises(StepOrderError, match=r"assessment_period needs \['time_units'"):
        check_order(parameters, [recorded[0], period])


def test_percent_format_is_read_into_cells_and_imports():
    step = stepfiles.parse(
        "example",
        "# needs: a\n# provides: b, c\n\n"
        "# %% [markdown]\n# ## Title\n#\n# Text\n\n"
        "# %%\nimport os\nfrom pathlib import Path, PurePath\n\nb = os.sep + a\n\n"
        "# %%\nc = Path(b)\nc\n",
    )
    assert step.needs == {"a"} and step.provides == {"b", "c"}
    assert step.imports == (
        "import os",
        "from pathlib import Path",
        "from pathlib import PurePath",
    )
    assert [(cell.kind, cell.source) for cell in step.cells] == [
        ("markdown", "## Title\n\nText"),
        ("code", "b = os.sep + a"),
        ("code", "c = Path(b)\nc"),
    ]


def test_shared_logic_is_taken_from_its_step():
    normalized = stepfiles.definitions("model_names")["normalized"]
    assert normalized("PCR-GLOBWB") == normalized("pcrglobwb") == "pcrglobwb"
    with pytest.raises(StepOrderError):
        stepfiles.definitions("assessment_period")


def test_steps_are_ruff_clean():
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [*ruff, *command, str(FOLDER)], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def build_wheel(tmp_path: Path) -> Path:
    """A wheel built from a copy of what the package is made of (as the Dockerfile
    copies it), so the build writes nothing into the checkout, which may be read-only."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "ewatercycle_experiment_launcher",
        source / "ewatercycle_experiment_launcher",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(dist.glob("*.whl"))


def test_built_wheel_carries_every_step(tmp_path):
    names = zipfile.ZipFile(build_wheel(tmp_path)).namelist()
    shipped = {Path(name).name for name in names if "/notebooks/steps/" in name}
    assert shipped >= {path.name for path in STEP_FILES}
