"""The names ewatercycle imports; none of them works."""


class ProvenanceLogger:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("ESMValTool is not installed")


def get_diagnostic_filename(*args, **kwargs):
    raise NotImplementedError("ESMValTool is not installed")


def run_diagnostic(*args, **kwargs):
    raise NotImplementedError("ESMValTool is not installed")
