# needs: grpc4bmi_container, output_dir, data_dir
# provides: model

# %% [markdown]
# ## Start the model
#
# The model runs in an Apptainer container and is reached through gRPC.

# %%
from grpc4bmi.bmi_client_apptainer import BmiClientApptainer

image = grpc4bmi_container
if "://" not in image and not image.endswith(".sif"):
    image = "docker://" + image
model = BmiClientApptainer(
    image=image,
    work_dir=str(output_dir),
    input_dirs=[str(data_dir)],
    timeout=300,
)
