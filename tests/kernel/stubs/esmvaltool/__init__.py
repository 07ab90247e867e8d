"""Stand-in for ESMValTool, which is only installable with conda.

ewatercycle 2.6 imports three names from ``esmvaltool.diag_scripts.shared``
when ``ewatercycle.models`` is imported, but only uses them to generate
forcing. Putting this folder on PYTHONPATH lets a pip-only kernel import the
model plugins; generating forcing still fails loudly.
"""
