"""Stand-in for ESMValCore, which needs ESMPy and so only installs with conda.

See the esmvaltool stand-in beside this package: only the names that
ewatercycle 2.6 imports at import time exist, and none of them works.
"""


class _Missing:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("ESMValCore is not installed")
