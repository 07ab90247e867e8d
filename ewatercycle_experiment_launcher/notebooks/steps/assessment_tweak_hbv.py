# needs: config, data_dir
# provides:

# %% [markdown]
# ### Settings this model needs
#
# The config names each forcing file (precipitation, potential evaporation,
# temperature) by its full path: those found in the `input` folder are pointed there.

# %%
from pathlib import Path

for key, value in config.items():
    fetched = data_dir / Path(str(value)).name
    if key.endswith("_file") and fetched.is_file():
        config[key] = str(fetched)
        print(key, "=", fetched)
