# needs: comparison, model, variable
# provides:

# %%
import matplotlib.pyplot as plt
from ewatercycle.analysis.hydrograph import hydrograph

figure, _ = hydrograph(
    comparison,
    reference="observed",
    metrics_list=["ME", "NSE", "SA"],
    discharge_units=model.get_var_units(variable),
)
plt.show()
