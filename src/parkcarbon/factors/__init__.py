"""parkcarbon.factors."""
