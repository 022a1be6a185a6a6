"""parkcarbon.web."""
