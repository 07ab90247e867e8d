# needs: model, variable
# provides: times, values

# %% [markdown]
# ## Run
#
# A lumped model has one value per variable for its whole catchment: the model
# is stepped to its end time while the value of `variable` is recorded after
# every step.

# %%
import numpy as np

value = np.empty(1, dtype=model.get_var_type(variable))
times = []
values = []
end_time = model.get_end_time()
while model.get_current_time() < end_time:
    model.update()
    times.append(model.get_current_time())
    values.append(model.get_value(variable, value)[0])
len(times)
