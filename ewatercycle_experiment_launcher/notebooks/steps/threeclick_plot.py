# needs: model, discharge, discharge_name
# provides:

# %% [markdown]
# The plot and the series are saved next to this notebook, as `discharge.png` and
# `discharge.csv`.

# %%
import matplotlib.pyplot as plt

axes = discharge.plot(title=discharge_name + " at the outlet")
axes.set_ylabel(model.var_units(discharge_name))
axes.figure.savefig("discharge.png", dpi=100)
discharge.to_csv("discharge.csv")
plt.show()

# %%
model.finalize()
