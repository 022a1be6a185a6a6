"""parkcarbon.services."""
