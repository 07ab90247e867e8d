# needs: model
# provides: discharge_name, discharge

# %%
import numpy as np
import pandas as pd


def is_discharge(name):
    """Distributed models call it discharge or runoff; lumped models often Q."""
    return name == "Q" or "discharge" in name.lower() or "runoff" in name.lower()


discharge_names = [name for name in model.output_var_names if is_discharge(name)]
if not discharge_names:
    raise LookupError(f"No discharge output among {sorted(model.output_var_names)}")
discharge_name = discharge_names[0]
print(discharge_name, model.var_units(discharge_name))

# %% [markdown]
# ## Run
#
# The outlet is the grid cell with the largest discharge after the first day
# (a lumped model has one cell).

# %%
days = pd.date_range(model.start_time_as_datetime, model.end_time_as_datetime, freq="D")[1:]
outlet = None
outlet_discharge = []
for day in days:
    while model.time_as_datetime < day:
        model.update()
    field = model.get_value(discharge_name)
    if outlet is None:
        outlet = int(np.nanargmax(field))
    outlet_discharge.append(field[outlet])
discharge = pd.Series(outlet_discharge, index=days, name=discharge_name)
discharge
