"""A tiny distributed rainfall-runoff model with a BMI, for executing notebooks.

Discharge on a 3 x 4 grid is the day's rain times (1 + flat cell index), so the
value at any index is known exactly from the forcing file. The config may be
INI (PCR-GLOBWB style: globalOptions inputDir/outputDir, model forcing) or
YAML/JSON (Walrus style: data = path of the forcing file); relative paths are
relative to the folder of the config file, as in wflow.
"""

import configparser
import json
from pathlib import Path

import numpy as np
import yaml
from bmipy import Bmi

SHAPE = (3, 4)


class ToyBmi(Bmi):
    def initialize(self, config_file):
        config_path = Path(config_file)
        if config_path.suffix == ".ini":
            config = configparser.ConfigParser(interpolation=None)
            config.optionxform = str
            config.read(config_path)
            options = config["globalOptions"] if config.has_section("globalOptions") else {}
            input_dir = config_path.parent / options.get("inputDir", ".")
            self.output_dir = config_path.parent / options.get("outputDir", ".")
            forcing = input_dir / config["model"]["forcing"]
            self.end = float(config["model"].get("end_time", "10"))
        else:
            text = config_path.read_text()
            config = json.loads(text) if config_path.suffix == ".json" else yaml.safe_load(text)
            forcing = config_path.parent / config["data"]
            self.output_dir = config_path.parent
            self.end = float(config.get("end_time", 10))
        self.rain = np.loadtxt(forcing, ndmin=1)
        self.time = 0.0
        self.discharge = np.zeros(SHAPE).ravel()
        self.weights = 1.0 + np.arange(self.discharge.size)

    def update(self):
        self.discharge = self.rain[int(self.time)] * self.weights
        self.time += 1.0

    def update_until(self, time):
        while self.time < time:
            self.update()

    def finalize(self):
        np.savetxt(self.output_dir / "toy_discharge.txt", self.discharge)

    def get_component_name(self):
        return "toy rainfall-runoff"

    def get_input_item_count(self):
        return 0

    def get_output_item_count(self):
        return 1

    def get_input_var_names(self):
        return ()

    def get_output_var_names(self):
        return ("discharge",)

    def get_var_grid(self, name):
        return 0

    def get_var_type(self, name):
        return "float64"

    def get_var_units(self, name):
        return "m3 s-1"

    def get_var_itemsize(self, name):
        return 8

    def get_var_nbytes(self, name):
        return self.discharge.nbytes

    def get_var_location(self, name):
        return "node"

    def get_current_time(self):
        return self.time

    def get_start_time(self):
        return 0.0

    def get_end_time(self):
        return self.end

    def get_time_units(self):
        return "days since 2000-01-01 00:00:00"

    def get_time_step(self):
        return 1.0

    def get_value(self, name, dest):
        dest[:] = self.discharge
        return dest

    def get_value_ptr(self, name):
        return self.discharge

    def get_value_at_indices(self, name, dest, inds):
        dest[:] = self.discharge[inds]
        return dest

    def set_value(self, name, src):
        self.discharge[:] = src

    def set_value_at_indices(self, name, inds, src):
        self.discharge[inds] = src

    def get_grid_rank(self, grid):
        return 2

    def get_grid_size(self, grid):
        return SHAPE[0] * SHAPE[1]

    def get_grid_type(self, grid):
        return "uniform_rectilinear"

    def get_grid_shape(self, grid, shape):
        shape[:] = SHAPE
        return shape

    def get_grid_spacing(self, grid, spacing):
        spacing[:] = (0.5, 0.5)
        return spacing

    def get_grid_origin(self, grid, origin):
        origin[:] = (51.0, 4.0)
        return origin

    def get_grid_x(self, grid, x):
        raise NotImplementedError

    def get_grid_y(self, grid, y):
        raise NotImplementedError

    def get_grid_z(self, grid, z):
        raise NotImplementedError

    def get_grid_node_count(self, grid):
        return self.get_grid_size(grid)

    def get_grid_edge_count(self, grid):
        raise NotImplementedError

    def get_grid_face_count(self, grid):
        raise NotImplementedError

    def get_grid_edge_nodes(self, grid, edge_nodes):
        raise NotImplementedError

    def get_grid_face_edges(self, grid, face_edges):
        raise NotImplementedError

    def get_grid_face_nodes(self, grid, face_nodes):
        raise NotImplementedError

    def get_grid_nodes_per_face(self, grid, nodes_per_face):
        raise NotImplementedError
