"""Every problem type is documented, with its status, in the spec and in the README."""

from __future__ import annotations

import re

import pytest
import yaml

from ewatercycle_experiment_launcher.app import SPEC
from ewatercycle_experiment_launcher.localhub import ROOT
from ewatercycle_experiment_launcher.problems import CATALOGUE, TYPE_PREFIX, LauncherProblem

DOCUMENTS = {
    "spec": yaml.safe_load(SPEC.read_text())["info"]["description"],
    "README": (ROOT / "README.md").read_text(),
}


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_problem_type_is_documented_with_its_status(document, code):
    status = CATALOGUE[code][0]
    rows = re.findall(rf"^\s*\| `{re.escape(code)}` \| (\d+) \|", DOCUMENTS[document], re.M)
    assert rows == [str(status)], f"{code} in the {document}"


def test_problem_document_shape():
    problem = LauncherProblem("spawn-limit", "busy", headers={"Retry-After": "5"}, extra=1)
    response = problem.to_problem()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert problem.type == TYPE_PREFIX + "spawn-limit"
    assert problem.ext == {"code": "spawn-limit", "extra": 1}
