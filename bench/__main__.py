"""``python -m bench``: run every benchmark at its default (small) size, one after the other.

Each benchmark compares parkcarbon against a baseline measured in the same run and prints the
ratio; none of them is a pass/fail test.
"""

from __future__ import annotations

import sys

from bench import api_dashboard, dispatch_benchmark, ingest_bulk, ledger_recompute

if __name__ == "__main__":
    rc = ledger_recompute.main(sys.argv[1:])
    rc = rc or ingest_bulk.main([])
    rc = rc or dispatch_benchmark.main([])
    sys.exit(rc or api_dashboard.main([]))
