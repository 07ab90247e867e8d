# needs: observations, simulated, model_name, source, station_id
# provides: comparison, metrics

# %% [markdown]
# ## Simulated against observed
#
# Skill on the days present in both series: mean error, Nash–Sutcliffe
# efficiency and spectral angle, computed with [HydroErr](https://hydroerr.readthedocs.io/).

# %%
import HydroErr
import pandas as pd

observed = observations["streamflow"].to_series().rename("observed")
observed.index = pd.DatetimeIndex(observed.index).tz_localize(None).normalize()
comparison = pd.concat([simulated, observed], axis=1, join="inner").dropna()
print("Model", model_name, "against", source, "station", station_id)
print("Days with both simulated and observed discharge:", len(comparison))
pair = comparison["simulated"].to_numpy(), comparison["observed"].to_numpy()
metrics = pd.Series(
    {
        "mean error": HydroErr.me(*pair),
        "Nash-Sutcliffe efficiency": HydroErr.nse(*pair),
        "spectral angle": HydroErr.sa(*pair),
    }
)
metrics
