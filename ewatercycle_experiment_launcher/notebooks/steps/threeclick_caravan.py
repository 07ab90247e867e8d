# needs: Model, region, start_time, end_time
# provides: forcing

# %% [markdown]
# ## Forcing
#
# The region is a Caravan basin id, `<dataset>_<gauge id>`. The Caravan data are read
# from the eWaterCycle data server, or from a local copy where the environment
# variable `CARAVAN_CACHE` names its folder (as on eWaterCycle machines).

# %%
from pathlib import Path

import pandas as pd
from ewatercycle.forcing import sources as forcing_sources

if Model.model_fields["parameter_set"].is_required():
    raise LookupError(
        f"{Model.__name__} runs on a parameter set, not on the forcing of a Caravan "
        f"basin: choose a region that names one of its parameter sets instead of {region!r}"
    )

# %%
CaravanForcing = forcing_sources["CaravanForcing"]
dataset_name = region.split("_", 1)[0]
try:
    caravan = CaravanForcing.get_dataset(dataset_name)
except OSError as error:
    message = f"No Caravan dataset {dataset_name!r} for basin {region!r}: {error}"
    raise LookupError(message) from None
basin_ids = [
    basin.decode() if isinstance(basin, bytes) else str(basin)
    for basin in caravan["basin_id"].to_numpy()
]
if region not in basin_ids:
    raise LookupError(
        f"Caravan dataset {dataset_name!r} has no basin {region!r}; "
        f"its {len(basin_ids)} basins include {basin_ids[:5]}"
    )
first_day, last_day = (pd.Timestamp(caravan["time"].to_numpy()[i]) for i in (0, -1))
start, end = (pd.Timestamp(time).tz_convert(None) for time in (start_time, end_time))
if start < first_day or end > last_day:
    raise ValueError(
        f"The period {start:%Y-%m-%d} to {end:%Y-%m-%d} is not covered by the Caravan "
        f"forcing of {region}, available from {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    )
print(f"Caravan forcing of {region}: {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d}")

# %%
forcing_dir = Path("forcing").resolve()
forcing_dir.mkdir(exist_ok=True)
forcing = CaravanForcing.generate(
    start_time=start_time, end_time=end_time, directory=str(forcing_dir), basin_id=region
)
forcing
