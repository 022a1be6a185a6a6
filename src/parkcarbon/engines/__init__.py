"""Columnar engines (adapters): recompute the monthly ledger from interval readings in Parquet.

* :mod:`parkcarbon.engines.ledger` — the job (:class:`~parkcarbon.engines.ledger.LedgerJob`), the
  result (:class:`~parkcarbon.engines.ledger.LedgerTable`) and
  :func:`~parkcarbon.engines.ledger.recompute_ledger` (``engine="duckdb" | "numpy" | "python"``);
* :mod:`parkcarbon.engines.duckdb_engine` — DuckDB over Parquet (default, embedded);
* :mod:`parkcarbon.engines.dense` — dense per-meter arrays on the 15-minute grid + numpy kernel;
* :mod:`parkcarbon.engines.reference` — pure-Python reference for tests;
* :mod:`parkcarbon.engines.synthetic` — synthetic park readings for tests and benchmarks.

Importing this package needs no database and does not import DuckDB.
"""
