"""Plain records of the factor package: sources, regions, set manifests and factor rows.

A factor row (因子数据行) keeps its value in the unit of its source and, next to it, the
value in the served unit (see :mod:`parkcarbon.factors.conversion`). Every row names its
source(s) and an evidence grade (证据等级):

==============  ==============================================================
grade           meaning (``/work/shared/reference/README.md``)
==============  ==============================================================
``A``           official text, a verbatim mirror, or central media quoting it
``B``           secondary source, or two independent lower-grade sources agree
``C``           a single third-party page or code: a replaceable default
``D``           derived from A/B inputs (formula in the row note)
``UNVERIFIED``  not seen in a source: never used without an explicit opt-in
==============  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from parkcarbon.core.trace import FactorRef

__all__ = [
    "FactorRow",
    "FactorSet",
    "Grade",
    "OverrideRecord",
    "Region",
    "SetKind",
    "SetManifest",
    "Source",
    "make_ref",
    "validity_overlaps",
]


class Grade(StrEnum):
    """Evidence grade of a factor row (证据等级)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    UNVERIFIED = "UNVERIFIED"


class SetKind(StrEnum):
    """What a factor set is (因子集类型)."""

    STATISTICAL = "statistical"  # 统计发布 (MEE/NBS yearly factors, yearbooks)
    REGULATORY = "regulatory"  # 监管规定 (ETS notices, guideline defaults)
    CARBON_FOOTPRINT = "carbon-footprint"  # 碳足迹 (life-cycle factors)
    CONVERSION = "conversion"  # 折算系数 (GB/T 2589, stoichiometry)
    POLICY = "policy"  # 政策阈值
    CONVENTION = "convention"  # 宣传口径 (illustrative only)


@dataclass(frozen=True)
class Source:
    """A source document (``sources.csv``)."""

    source_id: str
    publisher: str
    citation: str
    url: str = ""
    note: str = ""

    def describe(self) -> str:
        text = f"{self.publisher}: {self.citation}"
        return f"{text} <{self.url}>" if self.url else text


@dataclass(frozen=True)
class Region:
    """A region a factor applies to (``regions.csv``).

    ``kind`` is ``country``, ``grid_region`` or ``province``; ``parent`` is the next level
    up (province → regional grid → ``CN``); ``grade``/``source_ids`` qualify that membership
    (the 西南 split is ``UNVERIFIED``).
    """

    code: str
    kind: str
    parent: str | None
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()
    source_ids: tuple[str, ...] = ()
    grade: Grade | None = None
    note: str = ""


@dataclass(frozen=True)
class SetManifest:
    """The ``manifest.csv`` of a factor set (因子集清单).

    ``default`` : searched by lookups that do not name a set. Non-default sets (e.g. the
    statistical-yearbook variant) are used only when asked for by ``set_id``.
    ``overrides`` : for a user set, the id of the set whose rows it adds to or replaces.
    """

    set_id: str
    version: str
    title: str
    kind: SetKind
    title_zh: str = ""
    published: date | None = None
    description: str = ""
    default: bool = True
    overrides: str | None = None
    path: str = ""
    packaged: bool = True


@dataclass(frozen=True)
class FactorRow:
    """One validated factor row.

    value : as stored, in ``unit`` (the source's unit).
    served_value : the same quantity in ``served_unit`` (what :class:`FactorRef` carries).
    year : data year the value describes; ``None`` = not year-specific.
    valid_from, valid_to : activity dates the row may be applied to (inclusive); ``None`` = open.
    file, row : where it was read (row 1 is the header).
    replaces : the row this one overrides (user sets), if any.
    """

    set_id: str
    key: str
    variant: str
    region: str
    year: int | None
    method: str
    value: float
    unit: str
    served_value: float
    served_unit: str
    source_ids: tuple[str, ...]
    grade: Grade
    value_min: float | None = None
    value_max: float | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    evidence: str = ""
    note: str = ""
    file: str = ""
    row: int = 0
    replaces: FactorRow | None = None

    @property
    def identity(self) -> tuple[str, str, str, int | None, str]:
        """``(key, variant, region, year, method)``: unique within a set."""
        return (self.key, self.variant, self.region, self.year, self.method)

    @property
    def factor_id(self) -> str:
        """Stable id ``set_id:key[variant]@region/year#method``."""
        text = f"{self.set_id}:{self.key}"
        if self.variant:
            text += f"[{self.variant}]"
        text += f"@{self.region}"
        if self.year is not None:
            text += f"/{self.year}"
        if self.method:
            text += f"#{self.method}"
        return text

    def applies_in(self, year: int) -> bool:
        """Whether the validity period overlaps calendar ``year``."""
        if self.valid_from is not None and self.valid_from > date(year, 12, 31):
            return False
        return not (self.valid_to is not None and self.valid_to < date(year, 1, 1))


@dataclass(frozen=True)
class OverrideRecord:
    """A packaged (or earlier) row replaced by a user set row — recorded, never silent."""

    set_id: str
    by_set: str
    identity: tuple[str, str, str, int | None, str]
    old_value: float
    old_unit: str
    new_value: float
    new_unit: str
    file: str
    row: int


@dataclass(frozen=True)
class FactorSet:
    """A factor set: its manifest, its rows, and the user sets layered on it."""

    manifest: SetManifest
    rows: tuple[FactorRow, ...]
    layers: tuple[SetManifest, ...] = ()

    @property
    def set_id(self) -> str:
        return self.manifest.set_id

    @property
    def version(self) -> str:
        """Version string, including user layers (``v+user@v``)."""
        text = self.manifest.version
        for layer in self.layers:
            text += f"+{layer.set_id}@{layer.version}"
        return text


def validity_overlaps(a: FactorRow, b: FactorRow) -> bool:
    """Whether the validity periods of two rows overlap (open ends are unbounded)."""
    if a.valid_to is not None and b.valid_from is not None and a.valid_to < b.valid_from:
        return False
    return not (b.valid_to is not None and a.valid_from is not None and b.valid_to < a.valid_from)


def make_ref(row: FactorRow, sources: dict[str, Source], set_version: str, note: str | None) -> FactorRef:
    """Build the :class:`FactorRef` a result carries for ``row`` (served unit)."""
    source = "; ".join(f"{sid}: {sources[sid].describe()}" if sid in sources else sid for sid in row.source_ids)
    return FactorRef(
        factor_id=row.factor_id,
        key=row.key if not row.variant else f"{row.key}[{row.variant}]",
        value=row.served_value,
        unit=row.served_unit,
        source=source,
        grade=row.grade.value,
        region=row.region,
        year=row.year,
        set_version=set_version,
        fallback_note=note,
    )
