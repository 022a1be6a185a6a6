"""parkcarbon.api."""
