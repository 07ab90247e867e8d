# needs: grpc4bmi_container, model_path
# provides: model

# %% [markdown]
# ## Start the model
#
# The model's Python class runs in a process of its own and is reached through gRPC.

# %%
from grpc4bmi.bmi_client_subproc import BmiClientSubProcess

model = BmiClientSubProcess(grpc4bmi_container, path=model_path, delay=0, timeout=60)
