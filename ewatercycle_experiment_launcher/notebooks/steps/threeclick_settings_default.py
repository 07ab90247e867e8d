# needs:
# provides: settings

# %% [markdown]
# Settings of the model, passed to `model.setup`; add any it needs here.

# %%
settings = {}
