"""parkcarbon benchmarks (run with ``python -m bench`` or ``python -m bench.<name>``)."""
