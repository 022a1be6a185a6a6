"""parkcarbon.ingest."""
