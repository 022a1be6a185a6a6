"""parkcarbon.cli."""
