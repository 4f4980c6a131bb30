"""convlens benchmarks: ``python -m benchmarks [--quick] [--only NAME]`` (or ``make bench``)."""
