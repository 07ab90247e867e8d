"""Notebook that runs a grpc4bmi model and scores it against observed discharge.

Which config tweaks and which observation loader appear is decided here, so
the user reads only the code that applies to their model and source.
"""

from nbformat import NotebookNode

from . import bmi
from .cells import Value, notebook
from .stepfiles import definitions

SOURCES = ("grdc", "usgs")

# Keys are model names as normalized by the model_names step.
TWEAKS = {
    "pcrglobwb": "assessment_tweak_pcrglobwb",
    "wflow": "assessment_tweak_wflow",
    "walrus": "assessment_tweak_walrus",
    "hbv": "assessment_tweak_hbv",
}
LUMPED = {"hbv"}

normalized = definitions("model_names")["normalized"]


def build(body: dict) -> NotebookNode:
    """Model, parameter set and station come from the body's ``setup``."""
    setup = body["setup"]
    assessment = setup["assessment"]
    source = assessment.get("source", "grdc")
    if source not in SOURCES:
        raise ValueError("assessment.source must be one of " + ", ".join(SOURCES))
    parameters: dict[str, Value] = {"model_name": setup["model"]["name"]}
    parameters.update(bmi.model_parameters(setup))
    parameters.update(
        variable=assessment["variable"],
        index=assessment["index"],
        source=source,
        station_id=assessment["station_id"],
    )
    if source == "grdc":
        parameters["data_home"] = assessment.get("data_home")
    key = normalized(setup["model"]["name"])
    run = bmi.LUMPED_RECORDING if key in LUMPED else bmi.RECORDING
    tweaks = (TWEAKS[key],) if key in TWEAKS else ()
    names = [
        "assessment_intro",
        *bmi.steps(setup, run, tweaks),
        "assessment_period",
        f"assessment_observations_{source}",
        "assessment_compare",
        "assessment_hydrograph",
        "bmi_stop",
    ]
    return notebook(parameters, names)
