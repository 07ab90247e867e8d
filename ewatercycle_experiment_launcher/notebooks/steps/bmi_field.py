# needs: model, variable
# provides:

# %% [markdown]
# ## Final state of the variable on the model grid

# %%
import matplotlib.pyplot as plt
import numpy as np

grid = model.get_var_grid(variable)
shape = model.get_grid_shape(grid, np.empty(model.get_grid_rank(grid), dtype=np.int64))
size = model.get_var_nbytes(variable) // model.get_var_itemsize(variable)
field = model.get_value(variable, np.empty(size, dtype=model.get_var_type(variable)))
field = np.ma.masked_invalid(field)
grid_type = model.get_grid_type(grid)
if len(shape) == 2 and grid_type == "rectilinear":
    x = model.get_grid_x(grid, np.empty(shape[1]))
    y = model.get_grid_y(grid, np.empty(shape[0]))
elif len(shape) == 2 and grid_type == "uniform_rectilinear":
    spacing = model.get_grid_spacing(grid, np.empty(2))
    origin = model.get_grid_origin(grid, np.empty(2))
    x = origin[1] + spacing[1] * np.arange(shape[1])
    y = origin[0] + spacing[0] * np.arange(shape[0])
else:
    x, y = np.arange(shape[-1]), np.arange(np.prod(shape[:-1], dtype=np.int64))
figure, axes = plt.subplots()
mesh = axes.pcolormesh(x, y, field.reshape(len(y), len(x)), shading="auto")
figure.colorbar(mesh, ax=axes, label=model.get_var_units(variable))
axes.set_title(variable, parse_math=False)
plt.show()
