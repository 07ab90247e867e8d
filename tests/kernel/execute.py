"""Runs a notebook file with nbclient and saves the outputs into the same file.

Run it with the kernel environment's python: the notebook then executes against
exactly the libraries pinned in requirements_kernel.txt. Execution stops at the
first failing cell; the error is left in that cell's outputs for the caller.
"""

import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(path: str, workdir: str, timeout: str) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=int(timeout), kernel_name="python3", resources={"metadata": {"path": workdir}}
    )
    try:
        client.execute()
    except CellExecutionError:
        pass
    finally:
        nbformat.write(nb, path)


if __name__ == "__main__":
    main(*sys.argv[1:])
