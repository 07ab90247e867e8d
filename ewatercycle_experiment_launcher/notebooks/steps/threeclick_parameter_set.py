# needs: Model, normalized, model_name, region
# provides: parameter_set

# %% [markdown]
# ## Parameter set
#
# The parameter set is the one for this model whose name contains the region.
# Example parameter sets are downloaded into `CFG.parameterset_dir` when missing.

# %%
if not Model.model_fields["parameter_set"].is_required():
    raise LookupError(
        f"{Model.__name__} is forced by the Caravan data of a catchment: the region must "
        f"be a Caravan basin id such as camels_01022500, not {region!r}"
    )

# %%
import ewatercycle.parameter_sets
from ewatercycle import CFG

parameter_sets = {**ewatercycle.parameter_sets.example_parameter_sets(), **CFG.parameter_sets}
matches = [
    candidate
    for candidate in parameter_sets.values()
    if normalized(candidate.target_model) == normalized(model_name)
    and normalized(region) in normalized(candidate.name)
]
if not matches:
    raise LookupError(
        f"No parameter set for model {model_name!r} and region {region!r}; "
        f"known parameter sets are {sorted(parameter_sets)}"
    )
parameter_set = matches[0]
parameter_set.download(CFG.parameterset_dir)
print(parameter_set)
