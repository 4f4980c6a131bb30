"""Root pytest configuration: reproducible Hypothesis runs; skip modules whose optional dependency is missing."""

import importlib.util
import os

from hypothesis import settings

# CI must be reproducible: the same examples every run (no random search, no example database).
# `HYPOTHESIS_PROFILE=explore pytest` searches with fresh random examples instead.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

collect_ignore = []
if importlib.util.find_spec("torch") is None:  # the torch adapter's doctests need torch
    collect_ignore += ["src/convlens/torch.py"]
if importlib.util.find_spec("dask") is None:  # the Dask adapter's doctests need dask
    collect_ignore += ["src/convlens/dask"]
