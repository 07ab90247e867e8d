"""What /threeclickscience refuses before a notebook reaches the hub, through the app
in this process (previews stop before the hub)."""

from __future__ import annotations

import copy

import pytest

from .examples import EXAMPLES
from .inprocess import PREVIEW, StubHub, make_app

TOKEN = {"Authorization": "Bearer a-token"}


def post(setup: dict):
    body = copy.deepcopy(EXAMPLES["threeclickscience"])
    body["setup"].update(setup)
    app = make_app(StubHub({"a-token": "alice"}))
    with app.test_client() as client:
        return client.post("/threeclickscience", json=body, headers={**PREVIEW, **TOKEN})


def code_of(response) -> str:
    return "\n".join(
        cell["source"] for cell in response.json()["cells"] if cell["cell_type"] == "code"
    )


def test_the_contract_example_is_accepted():
    response = post({})
    assert response.status_code == 200
    assert "model = Model(parameter_set=parameter_set)" in code_of(response)


def test_a_caravan_basin_is_accepted():
    response = post({"model": "HBV", "region": "camels_01022500"})
    assert response.status_code == 200
    assert "CaravanForcing.generate(" in code_of(response)


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (
            {"period": {"start": "2014-12-31T00:00:00Z", "end": "2014-01-01T00:00:00Z"}},
            "period.end",
        ),
        ({"model": "HBV", "region": "Rhine"}, "camels_01022500"),
    ],
)
def test_what_the_launcher_can_know_is_refused(setup, says):
    response = post(setup)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid-setup"
    assert says in problem["detail"]


def test_a_period_that_is_not_a_date_time_is_refused():
    response = post({"period": {"start": "yesterday", "end": "2014-01-01T00:00:00Z"}})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
