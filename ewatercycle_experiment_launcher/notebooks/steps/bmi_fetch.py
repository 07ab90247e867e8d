# needs:
# provides: file_name, download, fetch

# %% [markdown]
# ## Fetch the parameter set
#
# The data files go to the `input` folder next to this notebook. A `file` is
# downloaded as is, `zip` and `tar` archives are unpacked, and `git` and `svn`
# repositories are checked out (this needs the `git` or `svn` command).

# %%
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit


def file_name(url):
    """The last part of the URL path, never a name that leaves the folder."""
    name = Path(unquote(urlsplit(url).path)).name
    return name if name not in ("", ".", "..") else "download"


def download(url, destination):
    with urllib.request.urlopen(url) as response, destination.open("wb") as file:
        shutil.copyfileobj(response, file)
    return destination


def fetch(url, data_format, target):
    """Fetch into a scratch folder first so a failed fetch leaves target untouched."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        unpacked = scratch / "unpacked"
        unpacked.mkdir()
        if data_format == "file":
            download(url, unpacked / file_name(url))
        elif data_format == "zip":
            with zipfile.ZipFile(download(url, scratch / "archive")) as archive:
                archive.extractall(unpacked)
        elif data_format == "tar":
            with tarfile.open(download(url, scratch / "archive")) as archive:
                archive.extractall(unpacked, filter="data")
        elif data_format == "git":
            checkout = unpacked / "checkout"
            command = ["git", "clone", "--quiet", "--depth", "1", "--", url, str(checkout)]
            subprocess.run(command, check=True)
            shutil.rmtree(checkout / ".git")
        elif data_format == "svn":
            command = ["svn", "export", "--quiet", "--", url, str(unpacked / "checkout")]
            subprocess.run(command, check=True)
        else:
            raise ValueError(f"Unknown data format {data_format!r}")
        entries = list(unpacked.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            unpacked = entries[0]
        shutil.copytree(unpacked, target, dirs_exist_ok=True)
