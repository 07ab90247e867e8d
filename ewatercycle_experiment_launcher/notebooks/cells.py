"""Assembly of notebooks whose only request-derived content is a parameters cell.

Request values are untrusted text. They enter a notebook solely as Python
literals in the cell tagged ``parameters`` (the papermill convention), so a
quote, newline or markdown character in a value can never become code or
markup. Every other cell is constant text chosen by the builders.
"""

import ast
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python"}

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Code:
    """A code cell plus the imports it relies on.

    Imports are gathered into one cell at the top, so a notebook built from
    any selection of steps imports exactly what the selection uses.
    """

    source: str
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Markdown:
    source: str


Step = Code | Markdown


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


def imports_cell(steps: Iterable[Step]) -> NotebookNode | None:
    """Standard library first, then third party, like isort would."""
    statements = sorted(
        {line for step in steps if isinstance(step, Code) for line in step.imports}
    )
    if not statements:
        return None
    stdlib = [line for line in statements if _top_module(line) in sys.stdlib_module_names]
    other = [line for line in statements if line not in stdlib]
    groups = ["\n".join(_ordered(group)) for group in (stdlib, other) if group]
    return new_code_cell("\n\n".join(groups))


def notebook(intro: str, parameters: Mapping[str, Value], steps: Iterable[Step]) -> NotebookNode:
    """Intro, parameters, imports, then the steps in order.

    Not validated here: that costs more than building, on every launch, and the tests
    validate every kind with every option."""
    steps = list(steps)
    cells = [new_markdown_cell(intro), parameters_cell(parameters)]
    imports = imports_cell(steps)
    if imports is not None:
        cells.append(imports)
    for step in steps:
        if isinstance(step, Code):
            cells.append(new_code_cell(step.source.strip("\n")))
        else:
            cells.append(new_markdown_cell(step.source.strip("\n")))
    nb = new_notebook(
        cells=cells,
        metadata={"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)},
    )
    return nb


def _top_module(statement: str) -> str:
    return statement.split()[1].split(".")[0]


def _ordered(statements: list[str]) -> list[str]:
    return sorted(statements, key=lambda line: (line.startswith("from "), line.split()[1].lower()))
