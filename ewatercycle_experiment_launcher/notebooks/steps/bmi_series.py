# needs: model, variable, times, values
# provides: time_units, timestamps

# %% [markdown]
# ## Time series of the variable

# %%
import cftime
import matplotlib.pyplot as plt
import pandas as pd

time_units = model.get_time_units()
timestamps = cftime.num2pydate(times, time_units) if " since " in time_units else times
series = pd.Series(values, index=timestamps, name=variable)
axes = series.plot()
axes.set_ylabel(model.get_var_units(variable))
plt.show()
