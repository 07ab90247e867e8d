# needs: forcing
# provides: settings

# %% [markdown]
# HBV's parameters (Imax, Ce, Sumax, Beta, Pmax, Tlag, Kf, Ks, FM) and initial storages
# (Si, Su, Sf, Ss, Sp) are not calibrated for this catchment: adjust them here.
#
# HBV reads precipitation and potential evaporation in mm per day and temperature in
# °C, while the Caravan forcing is written in kg m-2 s-1 and K: the files are converted
# first.

# %%
import xarray as xr

settings = {
    "parameters": "8,0.75,300,2.2,3.0,2.0,0.1,0.005,2.5",
    "initial_storage": "0,100,0,5,0",
}
conversions = {"pr": ("kg m-2 s-1", "mm d-1"), "evspsblpot": ("kg m-2 s-1", "mm d-1")}
conversions["tas"] = ("K", "°C")
for name, (unit, wanted) in conversions.items():
    path = forcing.directory / forcing.filenames[name]
    data = xr.load_dataset(path)
    if data[name].attrs.get("unit") == unit:
        attributes = {**data[name].attrs, "unit": wanted}
        data[name] = data[name] * 86400 if unit == "kg m-2 s-1" else data[name] - 273.15
        data[name].attrs = attributes
        data.to_netcdf(path)
        print(name, "converted from", unit, "to", wanted)
