"""``python -m bench``: run every benchmark at its default (small) size."""

from __future__ import annotations

import sys

from bench import api_dashboard, ingest_bulk, ledger_recompute

if __name__ == "__main__":
    rc = ledger_recompute.main(sys.argv[1:])
    rc = rc or ingest_bulk.main([])
    sys.exit(rc or api_dashboard.main([]))
