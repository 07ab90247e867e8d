"""Generates a Jupyter notebook for an experiment and opens it on the user's JupyterHub."""

import warnings

__version__ = "1.0.0.dev0"

# Connexion imports Starlette's test client at import time, which warns on every start.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
