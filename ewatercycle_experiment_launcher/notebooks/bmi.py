"""Notebook that runs a grpc4bmi model on a parameter set fetched from URLs.

The steps are shared with the assessment notebook, which is this notebook
plus model specific config tweaks and a comparison with observations.
"""

from nbformat import NotebookNode

from .cells import Value, notebook

DATA_FORMATS = ("file", "zip", "tar", "git", "svn")
CONFIG_FORMATS = ("ini", "yaml", "yml", "json")
RUNNERS = ("docker", "apptainer", "local")

RECORDING = ["bmi_run_recording", "bmi_field", "bmi_series"]
LUMPED_RECORDING = ["bmi_run_lumped", "bmi_series"]


def build(body: dict) -> NotebookNode:
    """Model, parameter set and optional plotting come from the body's ``setup``."""
    setup = body["setup"]
    plotting = setup.get("plotting")
    parameters = model_parameters(setup)
    if plotting is not None:
        parameters.update(variable=plotting["variable"], index=plotting["index"])
    run = RECORDING if plotting is not None else ["bmi_run_plain"]
    return notebook(parameters, ["bmi_intro", *steps(setup, run), "bmi_stop"])


def model_parameters(setup: dict) -> dict[str, Value]:
    """Parameters for fetching and starting the model; formats are checked here
    so an unusable request fails at the API instead of in the user's notebook."""
    model = setup["model"]
    runner = model.get("runner", "docker")
    if runner not in RUNNERS:
        raise ValueError("model.runner must be one of " + ", ".join(RUNNERS))
    if setup["datafiles"]["format"] not in DATA_FORMATS:
        raise ValueError("datafiles.format must be one of " + ", ".join(DATA_FORMATS))
    if setup["config"]["format"] not in CONFIG_FORMATS:
        raise ValueError("config.format must be one of " + ", ".join(CONFIG_FORMATS))
    parameters: dict[str, Value] = {
        "grpc4bmi_container": model["grpc4bmi_container"],
        "runner": runner,
    }
    if runner == "local":
        parameters["model_path"] = model.get("path")
    parameters.update(
        datafiles_format=setup["datafiles"]["format"],
        datafiles_url=setup["datafiles"]["url"],
        config_format=setup["config"]["format"],
        config_url=setup["config"]["url"],
    )
    return parameters


def steps(setup: dict, run: list[str], config_tweaks: tuple[str, ...] = ()) -> list[str]:
    """From fetching to the run; config_tweaks run just before the config is written."""
    runner = setup["model"].get("runner", "docker")
    return [
        "bmi_fetch",
        "bmi_datafiles",
        "bmi_config_read",
        *config_tweaks,
        "bmi_config_write",
        f"bmi_start_{runner}",
        "bmi_initialize",
        *run,
    ]
