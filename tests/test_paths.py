from __future__ import annotations

import re

import pytest

from ewatercycle_experiment_launcher.paths import NotebookTarget
from ewatercycle_experiment_launcher.problems import LauncherProblem


def target(**notebook):
    return NotebookTarget.from_request({"directory": "experiments", **notebook})


def test_defaults():
    t = target()
    assert t.directory == ("experiments",)
    assert t.filename == "experiment.ipynb"
    assert re.fullmatch(r"[0-9a-f]{32}", t.workspace)
    assert t.overwrite is False
    assert target().workspace != t.workspace


def test_nested_directory_and_unicode_names_are_fine():
    t = target(directory="a/b c/Ünïcode", filename="run 1 (copy).ipynb", workspace="my-ws")
    assert t.directory == ("a", "b c", "Ünïcode")
    assert t.filename == "run 1 (copy).ipynb"


@pytest.mark.parametrize(
    "field, value",
    [
        ("directory", ".."),
        ("directory", "a/../b"),
        ("directory", "./a"),
        ("directory", "/etc"),
        ("directory", "a//b"),
        ("directory", "a/"),
        ("directory", ".ssh"),
        ("directory", "a/.hidden/b"),
        ("directory", "a\\..\\b"),
        ("directory", "a?b"),
        ("directory", "a#b"),
        ("directory", "%2e%2e"),
        ("directory", "a\nb"),
        ("directory", "a\x00b"),
        ("directory", "a\u202eb"),
        ("directory", "\uff0e\uff0e"),
        ("directory", "\u2025"),
        ("directory", " a"),
        ("directory", "x" * 256),
        ("directory", "/".join(["a"] * 33)),
        ("filename", "notebook.py"),
        ("filename", ".ipynb"),
        ("filename", "a/b.ipynb"),
        ("filename", "..ipynb"),
        ("filename", "a%20b.ipynb"),
        ("workspace", "a/b"),
        ("workspace", ".."),
        ("workspace", "w?x"),
    ],
)
def test_unsafe_values_are_refused_naming_the_field(field, value):
    with pytest.raises(LauncherProblem) as caught:
        target(**{field: value})
    problem = caught.value
    assert problem.status == 400
    assert problem.code == "invalid-path"
    assert f"notebook.{field}" in problem.detail
