"""parkcarbon.planning."""
