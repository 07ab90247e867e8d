# needs: model_name, normalized
# provides: Model

# %% [markdown]
# ## Model
#
# The installed plugin whose name matches `model_name`; when the plugin also offers
# the model as an in-process variant (a `LocalModel`), that one is used: it needs no
# container.

# %%
import sys

import ewatercycle.models
from ewatercycle.base.model import LocalModel

installed = {normalized(name): name for name in ewatercycle.models.sources}
if normalized(model_name) not in installed:
    raise LookupError(
        f"No eWaterCycle model plugin called {model_name!r} is installed; "
        f"installed are {sorted(ewatercycle.models.sources)}"
    )
Model = ewatercycle.models.sources[installed[normalized(model_name)]]
in_process = getattr(sys.modules[Model.__module__], Model.__name__ + "Local", None)
if isinstance(in_process, type) and issubclass(in_process, LocalModel):
    Model = in_process
where = "in this process" if issubclass(Model, LocalModel) else "in a container"
print(Model.__name__, "runs", where)
