#!/usr/bin/env bash
# Creates .venv-hub5: the newest JupyterHub 5.5 release, the line that the Zero to
# JupyterHub chart's 4.x releases run (tests/z2jh/Chart.yaml's appVersion) and that most
# hubs in service run, with the JupyterLab of requirements_dev.txt for its users' servers.
# The tests run a real hub of each release from its own venv (.venv holds the 6.x one;
# see ewatercycle_experiment_launcher/localhub/releases.py), and check the example
# configurations against this hub's own scope list. The launcher itself stays in .venv;
# the hub imports the local hub's spawner from the checkout through PYTHONPATH.
# Re-running is cheap: the install is skipped while the pins below are unchanged.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${HUB5_VENV:-$root/.venv-hub5}"
lab="$(grep -E '^jupyterlab==' "$root/requirements_dev.txt")"
pins="jupyterhub==5.5.4 $lab"
stamp="$venv/.pin"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pins" ]; then
    echo "hub 5 env up to date: $venv"
    exit 0
fi

python="${HUB5_BASE_PYTHON:-python3}"
rm -rf "$venv"
"$python" -m venv "$venv"
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
echo "$pins" >"$stamp"
echo "hub 5 env ready: $venv (jupyterhub $("$venv/bin/python" -m jupyterhub --version))"
