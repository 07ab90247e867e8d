# needs: config, section, data_dir, output_dir
# provides: config_file

# %% [markdown]
# ### Settings this model needs
#
# wflow treats the folder of its config file as the case folder, so the case
# is copied into the writable work folder and the config is written there,
# under the name its eWaterCycle plugin uses.

# %%
import shutil

section(config, "API").setdefault("RiverRunoff", "2, m/s")
shutil.copytree(data_dir, output_dir, dirs_exist_ok=True)
config_file = output_dir / "wflow_ewatercycle.ini"
