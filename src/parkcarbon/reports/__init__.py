"""parkcarbon.reports."""
