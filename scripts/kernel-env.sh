#!/usr/bin/env bash
# Creates the Python environment in which the generated notebooks are executed.
# Re-running is cheap: the install is skipped while requirements_kernel.txt is unchanged.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${KERNEL_VENV:-$root/.venv-kernel}"
requirements="$root/requirements_kernel.txt"
stamp="$venv/.requirements.sha256"

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "kernel env up to date: $venv"
    exit 0
fi

# ewatercycle 2.6 needs Python 3.12 or newer; the pins are tested with 3.12. Tried in turn:
# $KERNEL_BASE_PYTHON, python3.12 on PATH, a 3.12 that pyenv has installed (its shims run
# only the active version), then python3.13 and python3 when they are new enough.
find_python() {
    local candidate version
    for candidate in ${KERNEL_BASE_PYTHON:-} python3.12; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    local pyenv_root
    pyenv_root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
    for version in $(ls "$pyenv_root/versions" 2>/dev/null | grep -E '^3\.12\.[0-9]+$' | sort -rV); do
        candidate="$pyenv_root/versions/$version/bin/python3.12"
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
    for candidate in python3.13 python3; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    return 1
}
if ! python="$(find_python)"; then
    cat >&2 <<'MESSAGE'
no Python 3.12 or newer found (ewatercycle 2.6 needs it). Install one, for example
  pyenv install 3.12 (https://github.com/pyenv/pyenv), or apt-get install python3.12 python3.12-venv
and run this script again, or point KERNEL_BASE_PYTHON at its interpreter.
MESSAGE
    exit 1
fi
echo "kernel env uses $("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

# --clear: a changed requirements file (or Python) gets a fresh environment.
if ! "$python" -m venv --clear "$venv"; then
    echo "could not create $venv: $python needs the venv module (Debian: apt-get install python3.12-venv)" >&2
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
