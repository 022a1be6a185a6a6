"""The monthly activity ledger (活动水平数据台账): the single input to accounting.

Monthly statistics, bills and aggregated meter data all become :class:`ActivityRecord`
rows. Quantities are in the carrier's canonical unit (see :mod:`parkcarbon.core.carriers`).
A missing value is never zero: a record whose quantity is unknown has ``quantity=None``
and ``quality=Quality.MISSING``; accounting reports it in the coverage, not as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from parkcarbon.core.carriers import carrier
from parkcarbon.errors import Location, QuantityError
from parkcarbon.periods import Month

__all__ = ["ActivityRecord", "Flow", "Quality"]


class Flow(StrEnum):
    """Which flow of a carrier a record measures.

    * ``CONSUMED`` 消费量 — fuels and media used in the period (energy and non-energy use).
    * ``PURCHASED`` 购入量 — electricity, heat or steam received from outside the boundary.
    * ``ONSITE_GENERATED`` 自产量 — e.g. rooftop PV or waste-heat power produced inside.
    * ``EXPORTED`` 外供量 — supplied to others outside the boundary (deducted).
    * ``NON_ENERGY_USE`` 非能源用途 — the part of ``CONSUMED`` used as feedstock/raw material.
    """

    CONSUMED = "consumed"
    PURCHASED = "purchased"
    ONSITE_GENERATED = "onsite_generated"
    EXPORTED = "exported"
    NON_ENERGY_USE = "non_energy_use"


class Quality(StrEnum):
    """Data-quality flag of a value (RELIABILITY.md R4)."""

    MEASURED = "measured"
    ESTIMATED = "estimated"
    EDITED = "edited"
    MISSING = "missing"
    SUSPECT = "suspect"


@dataclass(frozen=True)
class ActivityRecord:
    """One ledger row: enterprise × month × carrier × flow × quantity.

    Attributes
    ----------
    record_id : stable id of the row (traces point at it).
    enterprise_id : the reporting entity (报告主体).
    month : reporting month.
    carrier : carrier code.
    flow : :class:`Flow`.
    quantity : [carrier canonical unit] or ``None`` when unknown.
    source : where the number came from (file name, meter aggregate id, bill number…).
    quality : :class:`Quality`.
    subtype : finer key used to pick a factor, e.g. steam pressure or carbonate mineral.
    """

    record_id: str
    enterprise_id: str
    month: Month
    carrier: str
    flow: Flow
    quantity: float | None
    source: str = ""
    quality: Quality = Quality.MEASURED
    subtype: str | None = None

    def __post_init__(self) -> None:
        carrier(self.carrier)  # raises UnknownCarrierError
        q = self.quantity
        if q is None:
            if self.quality is not Quality.MISSING:
                raise QuantityError(
                    "a record without a quantity must be flagged 'missing'",
                    message_zh="无数量的记录必须标记为“缺失”",
                    location=Location(record=self.record_id),
                )
            return
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
            raise QuantityError(
                f"quantity must be a finite number, got {q!r}",
                message_zh=f"数量必须是有限数值，实际为 {q!r}",
                location=Location(record=self.record_id, value=q),
            )
        if q < 0:
            raise QuantityError(
                f"quantity must not be negative, got {q}",
                message_zh=f"数量不能为负数，实际为 {q}",
                hint="report exports with flow 'exported', not as a negative consumption",
                hint_zh="外供量请用“外供”流向填写，不要填负数",
                location=Location(record=self.record_id, value=q),
            )
