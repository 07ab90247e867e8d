"""Writes a small Caravan-format copy (v1 layout) for two basins into a folder.

Run with the kernel environment's python: ``python caravan.py FOLDER``. The folder
then works as ewatercycle's ``CARAVAN_CACHE``: ``camels.nc`` with the daily series of
the basins and ``shapefiles/combined.shp`` with their outlines.
"""

import sys
from pathlib import Path

import fiona
import numpy as np
import pandas as pd
import xarray as xr

BASINS = ["camels_01022500", "camels_01013500"]
DAYS = pd.date_range("2000-01-01", "2000-03-31", freq="D")


def series(basin: int, scale: float, offset: float) -> np.ndarray:
    day = np.arange(len(DAYS))
    return offset + scale * (1 + np.sin(day / 3 + basin)) * (day % 4 != 0)


def write(folder: Path) -> None:
    shape = (len(BASINS), len(DAYS))

    def variable(values, unit):
        return (("basin_id", "time"), np.asarray(values).reshape(shape), {"unit": unit})

    temperature = np.array([5 + 4 * np.sin(np.arange(len(DAYS)) / 10)] * len(BASINS))
    dataset = xr.Dataset(
        {
            "total_precipitation_sum": variable([series(i, 6, 0) for i in range(2)], "mm"),
            "potential_evaporation_sum": variable([series(i, 0.5, 1) for i in range(2)], "mm"),
            "temperature_2m_mean": variable(temperature, "°C"),
            "temperature_2m_min": variable(temperature - 3, "°C"),
            "temperature_2m_max": variable(temperature + 3, "°C"),
            "streamflow": variable([series(i, 2, 0.5) for i in range(2)], "mm"),
        },
        coords={"basin_id": BASINS, "time": DAYS},
        attrs={"history": "written by the launcher's tests"},
    )
    dataset.to_netcdf(folder / "camels.nc")
    shapes = folder / "shapefiles"
    shapes.mkdir()
    schema = {"geometry": "Polygon", "properties": {"gauge_id": "str"}}
    with fiona.open(
        shapes / "combined.shp", "w", driver="ESRI Shapefile", crs="EPSG:4326", schema=schema
    ) as combined:
        for number, basin in enumerate(BASINS):
            x, y = -68.0 + number, 45.0
            ring = [(x, y), (x + 0.5, y), (x + 0.5, y + 0.5), (x, y + 0.5), (x, y)]
            combined.write(
                fiona.Feature(
                    geometry=fiona.Geometry(type="Polygon", coordinates=[ring]),
                    properties=fiona.Properties(gauge_id=basin),
                )
            )


if __name__ == "__main__":
    write(Path(sys.argv[1]))
