"""The example request bodies of the API contract, unchanged."""

from __future__ import annotations

import copy
from typing import Any

NOTEBOOK = {"directory": "experiments"}

_MODEL_FILES = {
    "datafiles": {
        "format": "svn",
        "url": "https://github.com/UU-Hydro/PCR-GLOBWB_input_example/trunk/RhineMeuse30min",
    },
    "config": {
        "format": "ini",
        "url": "https://github.com/UU-Hydro/PCR-GLOBWB_input_example/trunk/RhineMeuse30min"
        "/ini_and_batch_files/rapid/setup_natural_test.ini",
    },
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "hello": {"notebook": NOTEBOOK},
    "opendap": {
        "notebook": NOTEBOOK,
        "opendap": "http://opendap.knmi.nl/knmi/thredds/dodsC/e-obs_0.25regular/"
        "tg_0.25deg_reg_v17.0.nc",
    },
    "threeclickscience": {
        "notebook": NOTEBOOK,
        "setup": {
            "model": "wflow",
            "region": "donau",
            "period": {"start": "2014-01-01T00:00:00Z", "end": "2014-12-31T00:00:00Z"},
        },
    },
    "bmi": {
        "notebook": NOTEBOOK,
        "setup": {
            "model": {"grpc4bmi_container": "ewatercycle/pcrg-grpc4bmi:latest"},
            **_MODEL_FILES,
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
            **_MODEL_FILES,
            "assessment": {
                "variable": "discharge",
                "index": 86,
                "source": "grdc",
                "station_id": "6970500",
            },
        },
    },
}


def example(kind: str, **notebook: Any) -> dict[str, Any]:
    """A deep copy of the contract's example for `kind`, with `notebook` fields replaced."""
    body = copy.deepcopy(EXAMPLES[kind])
    body["notebook"] = {**body["notebook"], **notebook}
    return body
