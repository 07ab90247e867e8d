# needs: download, file_name, config_url, config_format, data_dir, output_dir
# provides: read_config, write_config, section, redirect_dirs, config, config_file

# %% [markdown]
# ## Adapt the config file
#
# The model sees only the folders mounted into its container: the `input`
# folder with the data files and the `output` folder it works in, both at the
# same path as here. Options named `inputDir` or `outputDir` (in any section)
# are pointed at them; edit `config` in the next cells for anything else.

# %%
import configparser
import json
from collections.abc import Mapping
from pathlib import Path

import yaml


def read_config(path, config_format):
    if config_format == "ini":
        config = configparser.ConfigParser(interpolation=None)
        config.optionxform = str
        config.read(path)
        return config
    if config_format in ("yaml", "yml"):
        return yaml.safe_load(path.read_text()) or {}
    if config_format == "json":
        return json.loads(path.read_text())
    raise ValueError(f"Unknown config format {config_format!r}")


def write_config(config, path, config_format):
    with path.open("w") as file:
        if config_format == "ini":
            config.write(file)
        elif config_format in ("yaml", "yml"):
            yaml.safe_dump(config, file, sort_keys=False)
        else:
            json.dump(config, file, indent=2)


def section(config, name):
    """The named section or nested mapping, created when missing."""
    if name not in config:
        config[name] = {}
    return config[name]


def redirect_dirs(config, data_dir, output_dir):
    """Point inputDir and outputDir options at the mounted folders; return what changed."""
    changed = []
    for key in list(config):
        value = config[key]
        if isinstance(value, Mapping):
            changed += [key + "." + inner for inner in redirect_dirs(value, data_dir, output_dir)]
        elif key.lower().replace("_", "") == "inputdir":
            config[key] = str(data_dir)
            changed.append(key)
        elif key.lower().replace("_", "") == "outputdir":
            config[key] = str(output_dir)
            changed.append(key)
    return changed


# %%
config_dir = Path("config").resolve()
config_dir.mkdir(exist_ok=True)
config = read_config(download(config_url, config_dir / file_name(config_url)), config_format)
config_file = output_dir / file_name(config_url)
print("Changed options:", redirect_dirs(config, data_dir, output_dir))
