#!/usr/bin/env bash
# Creates the Python environment in which the generated notebooks are executed.
# Re-running is cheap: the install is skipped while requirements_kernel.txt is unchanged.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${KERNEL_VENV:-$root/.venv-kernel}"
requirements="$root/requirements_kernel.txt"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "kernel env up to date: $venv"
    exit 0
fi

if ! "$python" -m venv "$venv"; then
    echo "could not create $venv: $python needs the venv module (Debian: apt-get install python3-venv)" >&2
    exit 1
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip

# paegan (ewatercycle -> pyoos) ships only an sdist that imports pkg_resources.
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
echo 'setuptools<81' >"$constraints"
"$venv/bin/python" -m pip install --quiet --build-constraint "$constraints" -r "$requirements"

# remotebmi (pulled in by ewatercycle) overwrites grpc4bmi's run-bmi-server script.
grpc4bmi_pin="$(grep -E '^grpc4bmi' "$requirements")"
"$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$grpc4bmi_pin"

"$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3 --display-name "Python 3" >/dev/null

echo "$wanted" >"$stamp"
echo "kernel env ready: $venv"
