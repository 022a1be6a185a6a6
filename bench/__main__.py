"""``python -m bench``: run every benchmark at its default (small) size."""

from __future__ import annotations

import sys

from bench import ingest_bulk, ledger_recompute

if __name__ == "__main__":
    rc = ledger_recompute.main(sys.argv[1:])
    sys.exit(rc or ingest_bulk.main([]))
