"""Export safety: neutralise spreadsheet formulas in user-supplied text (RELIABILITY.md R15, FILE-02).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or carriage return, or a
full-width ``＝ ＋ － ＠`` is executed by spreadsheet programs (CSV/formula injection,
CVE-2021-41270 style). Such text is prefixed with a single quote so it shows as text.
Numbers are never touched: only strings are neutralised.
"""

from __future__ import annotations

__all__ = ["neutralise_cell"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise_cell(value: object) -> object:
    """Return ``value`` unchanged unless it is a string a spreadsheet would evaluate."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_TRIGGERS):
        return "'" + value
    return value
