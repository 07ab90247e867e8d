"""Where the source checkout and the venv's commands are.

The local hub reads the example config and the project's own configurable-http-proxy
(`node_modules/`) from the checkout, and puts the checkout on the hub's and the
launcher's `PYTHONPATH` so that they import this working tree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
