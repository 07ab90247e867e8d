"""Notebook that runs a named eWaterCycle model for a region and period.

Models are resolved at run time from the eWaterCycle plugins installed next to
the notebook, because which ones exist depends on the Jupyter server, not on the
launcher. The region decides how the model is set up: a Caravan basin id
(``camels_01022500``) forces a lumped model with that catchment's Caravan data;
any other region names the parameter set of a distributed model.
"""

import re
from datetime import datetime, timezone

from nbformat import NotebookNode

from .cells import notebook
from .stepfiles import definitions

CARAVAN_BASIN = re.compile(r"[a-z0-9]+_[A-Za-z0-9]+")

# Settings steps of lumped models, by model name as normalized by the model_names step.
LUMPED_SETTINGS = {"hbv": "threeclick_settings_hbv"}

normalized = definitions("model_names")["normalized"]


def build(body: dict) -> NotebookNode:
    """Model, region and period come from the body's ``setup``."""
    setup = body["setup"]
    period = setup["period"]
    check_period(period["start"], period["end"])
    parameters = {
        "model_name": setup["model"],
        "region": setup["region"],
        "start_time": period["start"],
        "end_time": period["end"],
    }
    model = normalized(setup["model"])
    if is_caravan_basin(setup["region"]):
        settings = LUMPED_SETTINGS.get(model, "threeclick_settings_default")
        set_up = ["threeclick_caravan", settings, "threeclick_lumped_setup"]
    elif model in LUMPED_SETTINGS:
        raise ValueError(
            f"{setup['model']} is forced by Caravan data: setup.region must be a Caravan "
            "basin id such as camels_01022500"
        )
    else:
        set_up = ["threeclick_parameter_set", "threeclick_distributed_setup"]
    names = ["threeclick_intro", "model_names", "threeclick_model", *set_up]
    return notebook(parameters, [*names, "threeclick_run", "threeclick_plot"])


def is_caravan_basin(region: str) -> bool:
    """Caravan basin ids are ``<dataset>_<gauge id>``, e.g. ``camels_01022500``."""
    return CARAVAN_BASIN.fullmatch(region) is not None


def check_period(start: str, end: str) -> None:
    """Refuses a period that ends before it starts. Text that is not a date-time is
    left to the API's schema, which refuses it before a notebook is built."""
    first, last = _instant(start), _instant(end)
    if first is not None and last is not None and last <= first:
        raise ValueError(f"period.end ({end}) must be after period.start ({start})")


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
