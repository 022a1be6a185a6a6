"""parkcarbon.storage."""
