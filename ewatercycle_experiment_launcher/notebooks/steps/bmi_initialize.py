# needs: model, config_file, runner
# provides:

# %%
model.initialize(str(config_file))
print(model.get_component_name(), "runs with", runner)
model.get_output_var_names()
