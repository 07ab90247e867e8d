# needs: write_config, config, config_file, config_format
# provides:

# %%
write_config(config, config_file, config_format)
config_file
