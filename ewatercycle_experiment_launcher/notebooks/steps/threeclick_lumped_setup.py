# needs: Model, forcing, settings
# provides: model

# %%
from pathlib import Path

model = Model(forcing=forcing)
config_file, config_dir = model.setup(cfg_dir=str(Path("model").resolve()), **settings)
model.initialize(config_file)
config_file
