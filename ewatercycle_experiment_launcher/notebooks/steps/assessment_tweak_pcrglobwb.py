# needs: config, section, data_dir, output_dir
# provides: config_file

# %% [markdown]
# ### Settings this model needs
#
# PCR-GLOBWB reads its folders from `globalOptions`; the config file name is the
# one its eWaterCycle plugin uses.

# %%
global_options = section(config, "globalOptions")
global_options["inputDir"] = str(data_dir)
global_options["outputDir"] = str(output_dir)
config_file = output_dir / "pcrglobwb_ewatercycle.ini"
