"""Helpers shared by the benchmark scripts (``scripts/bench_*.py``): not part of the library."""
