"""Side-by-side benchmarks of the launcher: see benchmarks/README.md and benchmarks/run.py."""
