# needs: station_id, period_start, period_end, data_home
# provides: observations

# %%
from ewatercycle.observation.grdc import get_grdc_data

observations = get_grdc_data(station_id, period_start, period_end, data_home=data_home)
observations
