"""Assembly of notebooks whose only request-derived content is a parameters cell.

Request values are untrusted text. They enter a notebook solely as Python
literals in the cell tagged ``parameters`` (the papermill convention), so a
quote, newline or markdown character in a value can never become code or
markup. Every other cell comes from the step files the builders choose.
"""

import ast
import math
import sys
from collections.abc import Iterable, Mapping

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import stepfiles as step_files

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}

Value = str | int | float | bool | None


def literal(value: object) -> str:
    """Python source that evaluates (with ast.literal_eval) to exactly value.

    Non-finite floats have no literal form, and JSON cannot carry them, so
    they are refused rather than smuggled in through an expression.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("request numbers must be finite")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError("request value is not a string, number or boolean")
    source = repr(value)
    if ast.literal_eval(source) != value:
        raise ValueError("request value has no exact Python literal")
    return source


def parameters_cell(parameters: Mapping[str, Value]) -> NotebookNode:
    """One assignment per value, tagged so papermill can override them."""
    lines = []
    for name, value in parameters.items():
        if not name.isidentifier():
            raise ValueError("parameter names must be identifiers")
        lines.append(name + " = " + literal(value))
    cell = new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["parameters"]
    return cell


def imports_cell(steps: Iterable[step_files.Step]) -> NotebookNode | None:
    """Standard library first, then third party, like isort would."""
    statements = sorted({line for step in steps for line in step.imports})
    if not statements:
        return None
    stdlib = [line for line in statements if _top_module(line) in sys.stdlib_module_names]
    other = [line for line in statements if line not in stdlib]
    groups = ["\n".join(_ordered(group)) for group in (stdlib, other) if group]
    return new_code_cell("\n\n".join(groups))


def notebook(parameters: Mapping[str, Value], names: Iterable[str]) -> NotebookNode:
    """The first step (the introduction), parameters, imports, then the other steps.

    Raises StepOrderError when a step needs a name that is neither a parameter nor
    provided by an earlier step. Not validated with nbformat here: that costs more
    than building, on every launch, and the tests validate every kind with every option.
    """
    intro, *steps = [step_files.load(name) for name in names]
    step_files.check_order(set(parameters), [intro, *steps])
    cells = [_cell(cell) for cell in intro.cells]
    cells.append(parameters_cell(parameters))
    imports = imports_cell([intro, *steps])
    if imports is not None:
        cells.append(imports)
    cells += [_cell(cell) for step in steps for cell in step.cells]
    return new_notebook(
        cells=cells,
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)},
    )


def _cell(cell: step_files.Cell) -> NotebookNode:
    if cell.kind == "markdown":
        return new_markdown_cell(cell.source)
    return new_code_cell(cell.source)


def _top_module(statement: str) -> str:
    return statement.split()[1].split(".")[0]


def _ordered(statements: list[str]) -> list[str]:
    return sorted(statements, key=lambda line: (line.startswith("from "), line.split()[1].lower()))
