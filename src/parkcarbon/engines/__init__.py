"""parkcarbon.engines."""
