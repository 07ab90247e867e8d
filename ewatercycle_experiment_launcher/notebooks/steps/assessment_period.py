# needs: time_units, timestamps, values
# provides: simulated, period_start, period_end

# %% [markdown]
# ## Observations
#
# Observed discharge of the station over the simulated period.

# %%
import pandas as pd

if " since " not in time_units:
    raise ValueError(f"Model time units {time_units!r} are not dates; nothing to compare")
simulated = pd.Series(values, index=pd.DatetimeIndex(timestamps).normalize(), name="simulated")
period_start = simulated.index[0].strftime("%Y-%m-%dT%H:%M:%SZ")
period_end = simulated.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
print(period_start, period_end)
