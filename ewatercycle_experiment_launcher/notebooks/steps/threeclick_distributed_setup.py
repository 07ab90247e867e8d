# needs: Model, parameter_set, start_time, end_time
# provides: model

# %%
model = Model(parameter_set=parameter_set)
config_file, config_dir = model.setup(start_time=start_time, end_time=end_time)
model.initialize(config_file)
