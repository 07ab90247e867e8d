# needs: station_id, period_start, period_end
# provides: observations

# %%
from ewatercycle.observation.usgs import get_usgs_data

observations = get_usgs_data(station_id, period_start, period_end)
observations
