"""Root pytest configuration: skip modules whose optional dependency is missing."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:  # the torch adapter's doctests need torch
    collect_ignore += ["src/convlens/torch.py"]
