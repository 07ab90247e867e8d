# needs: opendap_url
# provides: dataset

# %% [markdown]
# The `netcdf4` engine speaks OPeNDAP itself; `engine="pydap"` is the
# pure Python alternative. Opening is lazy: values are only transferred when
# they are used, for example with `dataset["name"].load()`.

# %%
import xarray as xr

dataset = xr.open_dataset(opendap_url, engine="netcdf4")
dataset
