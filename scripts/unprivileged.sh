#!/usr/bin/env bash
# Runs a command without root privileges, so that anything in it that needs root fails
# instead of quietly working. Run by anyone but root, it just runs the command. Run by
# root, it runs it as UNPRIVILEGED_USER (default nobody) with a fresh HOME and TMPDIR
# that user may write to. When the command's interpreter is installed below a folder
# that user may not enter (pyenv in /root, say), it is shown that installation, and
# nothing else of the folder, in a mount namespace of its own.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi

user=${UNPRIVILEGED_USER:-nobody}
group=$(id -gn "$user")
as_user=(setpriv --reuid="$user" --regid="$group" --clear-groups)

if ! "${as_user[@]}" test -r "$PWD" -a -x "$PWD"; then
    echo "$user cannot read $PWD: put the project where other users may read it" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chmod 0755 "$scratch"
mkdir -p "$scratch/home/hypothesis" "$scratch/stage"
chown -R "$user:$group" "$scratch/home"
export HOME="$scratch/home" TMPDIR="$scratch/home" PYTHONDONTWRITEBYTECODE=1
export HYPOTHESIS_STORAGE_DIRECTORY="$scratch/home/hypothesis"

# The first folder on the way to the interpreter's installation the user may not enter.
interpreter=$(readlink -f "$(command -v "$1")")
prefix=$(dirname "$(dirname "$interpreter")")
blocked=""
path=""
IFS=/ read -ra parts <<<"${prefix#/}"
for part in "${parts[@]}"; do
    path="$path/$part"
    if ! "${as_user[@]}" test -x "$path"; then
        blocked=$path
        break
    fi
done

if [ -z "$blocked" ]; then
    "${as_user[@]}" "$@"
elif [ "${PWD#"$blocked"/}" != "$PWD" ]; then
    echo "$user cannot enter $blocked, which holds both $interpreter and $PWD" >&2
    exit 1
else
    unshare --mount --propagation private bash -c '
        set -e
        stage=$1 blocked=$2 prefix=$3
        shift 3
        mount --bind "$prefix" "$stage"
        mount -t tmpfs -o mode=0755 tmpfs "$blocked"
        mkdir -p "$prefix"
        mount --bind "$stage" "$prefix"
        exec "$@"
    ' _ "$scratch/stage" "$blocked" "$prefix" "${as_user[@]}" "$@"
fi
