# needs: model
# provides:

# %% [markdown]
# ## Run
#
# The model is stepped to its end time. To follow a variable, read it after
# each `model.update()` with `model.get_value_at_indices`.

# %%
end_time = model.get_end_time()
while model.get_current_time() < end_time:
    model.update()
model.get_current_time()
