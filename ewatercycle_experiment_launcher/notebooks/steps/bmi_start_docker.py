# needs: grpc4bmi_container, output_dir, data_dir
# provides: model

# %% [markdown]
# ## Start the model
#
# The model runs in a Docker container and is reached through gRPC.

# %%
from grpc4bmi.bmi_client_docker import BmiClientDocker

model = BmiClientDocker(
    image=grpc4bmi_container,
    work_dir=str(output_dir),
    input_dirs=[str(data_dir)],
    timeout=300,
)
