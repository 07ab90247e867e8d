# needs: fetch, datafiles_url, datafiles_format
# provides: data_dir, output_dir

# %%
from pathlib import Path

data_dir = Path("input").resolve()
output_dir = Path("output").resolve()
output_dir.mkdir(parents=True, exist_ok=True)
fetch(datafiles_url, datafiles_format, data_dir)
sorted(path.name for path in data_dir.iterdir())
