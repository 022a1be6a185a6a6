"""Helpers to write user factor sets into a temporary directory (imported by the factor tests)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

from parkcarbon.factors.loader import FACTOR_COLUMNS, MANIFEST_COLUMNS

WriteSet = Callable[..., Path]


def write_user_set(
    root: Path,
    set_id: str,
    rows: Sequence[dict[str, object]],
    *,
    overrides: str = "",
    version: str = "u1",
    kind: str = "statistical",
    default: str = "yes",
    sources: Sequence[dict[str, str]] | None = None,
    header: Sequence[str] = FACTOR_COLUMNS,
) -> Path:
    """Write manifest.csv, factors.csv (and sources.csv) of one user set; return its directory."""
    d = root / set_id
    d.mkdir(parents=True, exist_ok=True)
    manifest = {
        "set_id": set_id,
        "version": version,
        "title": f"user set {set_id}",
        "title_zh": "用户因子集",
        "kind": kind,
        "published": "2025-01-01",
        "description": "test",
        "default": default,
        "overrides": overrides,
    }
    with open(d / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerow(manifest)
    with open(d / "factors.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(header), lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})
    if sources is not None:
        with open(d / "sources.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["source_id", "publisher", "citation", "url", "note"], lineterminator="\n")
            w.writeheader()
            for s in sources:
                w.writerow(s)
    return d


def factor_row(**kw: object) -> dict[str, object]:
    """A valid row (a 2023 provincial grid factor for 江苏) with overrides from ``kw``."""
    row: dict[str, object] = {
        "key": "grid_ef",
        "variant": "",
        "region": "CN-JS",
        "year": 2023,
        "method": "average",
        "value": "0.5800",
        "unit": "kgCO2/kWh",
        "source_id": "USER-JS",
        "grade": "B",
        "evidence": "provincial ecology department notice",
        "note": "test row",
    }
    row.update(kw)
    return row


USER_SOURCES = [
    {
        "source_id": "USER-JS",
        "publisher": "江苏省生态环境厅",
        "citation": "test citation of a provincial notice",
        "url": "https://example.org/js",
        "note": "",
    }
]
