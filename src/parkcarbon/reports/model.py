"""A document model that every report format renders: sections of text, tables and charts.

Services build a :class:`Report` from calculation results; :mod:`parkcarbon.reports.xlsx` and
:mod:`parkcarbon.reports.html` render the *same* object, so numbers are identical in every format.
Numbers stay numbers here (never pre-formatted strings); ``None`` means missing and is shown as
"—" (never 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Cell", "Chart", "Column", "Report", "Section", "Table"]

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    """A table column: ``key`` into each row; bilingual header; unit shown in brackets.

    ``decimals`` sets the display precision of numbers (the stored value is not rounded);
    ``grouping`` False shows numbers without thousands separators (years, codes).
    """

    key: str
    name_zh: str
    name_en: str
    unit: str = ""
    decimals: int = 2
    grouping: bool = True

    def header(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.name_zh} {self.name_en}{unit}"


@dataclass(frozen=True)
class Table:
    """A titled table; rows are mappings from column key to a cell value."""

    title_zh: str
    title_en: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Cell]]
    note: str = ""
    sheet_name: str = ""


@dataclass(frozen=True)
class Chart:
    """A simple chart: ``kind`` is ``bar``, ``stacked_bar`` or ``line``.

    ``series`` maps a series name to one value per category (``None`` = missing).
    """

    title_zh: str
    title_en: str
    kind: str
    categories: Sequence[str]
    series: Mapping[str, Sequence[float | None]]
    unit: str = ""


@dataclass(frozen=True)
class Section:
    title_zh: str
    title_en: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[Table] = ()
    charts: Sequence[Chart] = ()


@dataclass(frozen=True)
class Report:
    title_zh: str
    title_en: str
    subtitle: str
    generated_at: datetime
    sections: Sequence[Section]
    meta: Mapping[str, str] = field(default_factory=dict)
