"""``python -m bench``: run every benchmark at its default (small) size."""

from __future__ import annotations

import sys

from bench import ledger_recompute

if __name__ == "__main__":
    sys.exit(ledger_recompute.main(sys.argv[1:]))
