# needs: model
# provides:

# %%
model.finalize()
del model
