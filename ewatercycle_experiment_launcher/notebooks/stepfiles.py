"""Notebook steps, read from the jupytext percent-format files in the ``steps`` folder.

A step file is plain Python that ruff lints like any other module: ``# %%`` starts a
code cell, ``# %% [markdown]`` a Markdown cell written as comments. The comment lines
before the first cell declare the step's contract with the rest of the notebook:

    # needs: model, variable
    # provides: times, values

``needs`` are names the step uses but does not define (parameters or names provided by
earlier steps); ``provides`` are names later steps may use. Assembling a notebook checks
that every need is met, so a step can only rely on what is declared.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from importlib.resources import files

FOLDER = files(__package__) / "steps"
CELL_MARKER = "# %%"


@dataclass(frozen=True)
class Cell:
    kind: str
    source: str


@dataclass(frozen=True)
class Step:
    """One step file: its cells without their import statements, which the notebook
    gathers into one cell at the top."""

    name: str
    needs: frozenset[str]
    provides: frozenset[str]
    imports: tuple[str, ...]
    cells: tuple[Cell, ...]


class StepOrderError(RuntimeError):
    """A step needs a name that neither the parameters nor an earlier step provide."""


@functools.cache
def load(name: str) -> Step:
    """The step in ``steps/<name>.py``, shipped as package data."""
    return parse(name, (FOLDER / f"{name}.py").read_text(encoding="utf-8"))


def parse(name: str, text: str) -> Step:
    header, *chunks = _split(text)
    declared = _declarations(header)
    imports: list[str] = []
    cells = []
    for marker, lines in chunks:
        if "[markdown]" in marker:
            cells.append(Cell("markdown", _uncommented(lines)))
            continue
        source, cell_imports = _without_imports("\n".join(lines))
        imports += cell_imports
        if source:
            cells.append(Cell("code", source))
    return Step(
        name=name,
        needs=declared.get("needs", frozenset()),
        provides=declared.get("provides", frozenset()),
        imports=tuple(imports),
        cells=tuple(cells),
    )


def definitions(name: str) -> dict[str, object]:
    """What a step that needs nothing defines, for builders that share its logic."""
    step = load(name)
    if step.needs:
        raise StepOrderError(f"step {name} needs {sorted(step.needs)} and cannot run alone")
    namespace: dict[str, object] = {}
    code = "\n".join([*step.imports, *(cell.source for cell in step.cells)])
    exec(compile(code, f"steps/{name}.py", "exec"), namespace)
    return namespace


def check_order(parameters: set[str], steps: list[Step]) -> None:
    """Raises StepOrderError naming the first step whose needs are not yet provided."""
    available = set(parameters)
    for step in steps:
        missing = step.needs - available
        if missing:
            message = f"step {step.name} needs {sorted(missing)}, provided by no step before it"
            raise StepOrderError(message)
        available |= step.provides


def _split(text: str) -> list:
    """The header lines, then (marker line, body lines) per cell."""
    header: list[str] = []
    chunks: list = [header]
    for line in text.splitlines():
        if line.startswith(CELL_MARKER):
            chunks.append((line, []))
        elif len(chunks) == 1:
            header.append(line)
        else:
            chunks[-1][1].append(line)
    return chunks


def _declarations(header: list[str]) -> dict[str, frozenset[str]]:
    declared = {}
    for line in header:
        key, _, names = line.lstrip("# ").partition(":")
        if key in ("needs", "provides"):
            declared[key] = frozenset(name.strip() for name in names.split(",") if name.strip())
    return declared


def _uncommented(lines: list[str]) -> str:
    text = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
    return "\n".join(text).strip("\n")


def _without_imports(source: str) -> tuple[str, list[str]]:
    """The cell without its top-level imports, and those imports one statement a line."""
    imports = []
    dropped: set[int] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports += _statements(node)
            dropped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = source.split("\n")
    kept = [line for number, line in enumerate(lines, 1) if number not in dropped]
    return "\n".join(kept).strip("\n"), imports


def _statements(node: ast.Import | ast.ImportFrom) -> list[str]:
    """`from a import b, c` becomes two statements, so equal imports of steps merge."""
    single = [ast.Import(names=[alias]) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        single = [ast.ImportFrom(node.module, [alias], node.level) for alias in node.names]
    return [ast.unparse(statement) for statement in single]
