# needs: greeting
# provides:

# %%
print(greeting)
