# needs: config, data_dir
# provides:

# %% [markdown]
# ### Settings this model needs
#
# Walrus reads its forcing from the one data file named in `data`.

# %%
config["data"] = str(sorted(path for path in data_dir.iterdir() if path.is_file())[0])
