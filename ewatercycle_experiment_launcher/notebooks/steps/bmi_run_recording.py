# needs: model, variable, index
# provides: times, values

# %% [markdown]
# ## Run
#
# The model is stepped to its end time while the value of `variable` at the
# flat grid `index` is recorded after every step.

# %%
import numpy as np

indices = np.array([int(index)])
value_at_index = np.empty(1, dtype=model.get_var_type(variable))
times = []
values = []
end_time = model.get_end_time()
while model.get_current_time() < end_time:
    model.update()
    times.append(model.get_current_time())
    values.append(model.get_value_at_indices(variable, value_at_index, indices)[0])
len(times)
