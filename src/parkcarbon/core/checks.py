"""Shared guards of the accounting core: factor unit/range checks, ledger checks, coverage.

* :func:`factor_value` — a :class:`~parkcarbon.core.trace.FactorRef` is accepted only when its
  unit is *the* unit the formula requires (same dimension **and** size: ``kgce/kg`` ≡ ``tce/t``
  is accepted, ``kgce/kWh`` where ``tce/kWh`` is required is rejected) and its value lies in a
  plausible range. Together they stop the classic ×1000 kgce/tce mix-up (DESIGN §5): a
  mislabelled unit fails the unit check, a mislabelled value fails the range check.
* :func:`check_records` — no two ledger rows for the same natural key
  ``(enterprise, month, carrier, flow, subtype)`` and no repeated record id (a duplicate would
  be counted twice).
* :class:`Coverage` — which records were missing (``quantity is None``), so every total says
  whether it is complete (RELIABILITY R4: missing is never zero).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from parkcarbon.core.activity import ActivityRecord
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import (
    CalculationError,
    ConflictError,
    FactorDataError,
    FactorNotFoundError,
    Location,
    UnitError,
)
from parkcarbon.periods import Month
from parkcarbon.units import parse_unit, same_unit

__all__ = [
    "Coverage",
    "check_months_in_year",
    "check_records",
    "factor_value",
    "missing_factor",
    "sorted_records",
]


def factor_value(ref: FactorRef, required_unit: str, low: float, high: float, what: str) -> float:
    """Return ``ref.value`` after checking its unit and plausible range.

    Parameters
    ----------
    ref : the factor.
    required_unit : the unit the formula needs (e.g. ``"tce/kWh"``).
    low, high : plausible closed range of the value in ``required_unit``.
    what : readable name of the factor for messages.

    Raises :class:`~parkcarbon.errors.UnitError` for a wrong unit and
    :class:`~parkcarbon.errors.FactorDataError` for a value outside the range.
    """
    loc = Location(record=ref.factor_id, value=ref.value)
    try:
        ok = same_unit(ref.unit, required_unit)
    except UnitError as exc:
        raise UnitError(
            f"factor {ref.factor_id} ({what}) has an unreadable unit {ref.unit!r}",
            message_zh=f"因子 {ref.factor_id}（{what}）的单位 {ref.unit!r} 无法识别",
            hint=f"state the unit as {required_unit}",
            hint_zh=f"请将单位写为 {required_unit}",
            location=loc,
        ) from exc
    if not ok:
        given, need = parse_unit(ref.unit), parse_unit(required_unit)
        ratio = ""
        if given.dims == need.dims:
            ratio = f" (1 {given.text} = {given.scale / need.scale:g} {need.text})"
        raise UnitError(
            f"factor {ref.factor_id} ({what}) is in {ref.unit!r} but {required_unit!r} is required{ratio}",
            message_zh=f"因子 {ref.factor_id}（{what}）单位为 {ref.unit!r}，要求 {required_unit!r}",
            hint=f"convert the factor to {required_unit} in the factor set (kgce/tce mix-ups are the classic ×1000 error)",
            hint_zh=f"请在因子库中将该因子换算为 {required_unit}（注意 kgce 与 tce 相差 1000 倍）",
            location=loc,
        )
    v = ref.value
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise FactorDataError(
            f"factor {ref.factor_id} ({what}) is not a finite number: {v!r}",
            message_zh=f"因子 {ref.factor_id}（{what}）不是有限数值：{v!r}",
            location=loc,
        )
    if not low <= v <= high:
        raise FactorDataError(
            f"factor {ref.factor_id} ({what}) = {v:g} {ref.unit} is outside the plausible range "
            f"[{low:g}, {high:g}] {required_unit}",
            message_zh=f"因子 {ref.factor_id}（{what}）= {v:g} {ref.unit}，超出合理范围 "
            f"[{low:g}, {high:g}] {required_unit}",
            hint="check the value and its unit (a ×1000 kgce/tce or kg/t mix-up?)",
            hint_zh="请核对数值和单位（是否把 kgce 与 tce、kg 与 t 混淆，相差 1000 倍？）",
            location=loc,
        )
    return float(v)


def missing_factor(what: str, key: str, *, record: str | None = None, hint: str = "", hint_zh: str = "") -> FactorNotFoundError:
    """A :class:`~parkcarbon.errors.FactorNotFoundError` for factor ``key`` needed by ``what``."""
    return FactorNotFoundError(
        f"no {what} for {key!r} in the accounting factors",
        message_zh=f"核算因子中缺少 {key!r} 的{what}",
        hint=hint or f"add a {what} for {key!r} to the factor set used for this run",
        hint_zh=hint_zh or f"请在本次核算所用因子集中补充 {key!r} 的{what}",
        location=Location(record=record, value=key),
    )


def check_records(records: Iterable[ActivityRecord]) -> None:
    """Refuse repeated record ids and repeated natural keys (would be counted twice)."""
    by_id: dict[str, ActivityRecord] = {}
    by_key: dict[tuple[str, Month, str, str, str | None], ActivityRecord] = {}
    for r in records:
        if not isinstance(r, ActivityRecord):
            raise CalculationError(
                f"expected an ActivityRecord, got {type(r).__name__}",
                message_zh=f"应为活动数据记录 ActivityRecord，实际为 {type(r).__name__}",
            )
        if r.record_id in by_id:
            raise ConflictError(
                f"record id {r.record_id!r} occurs twice",
                message_zh=f"记录编号 {r.record_id!r} 重复出现",
                hint="each ledger row needs a unique id",
                hint_zh="台账每行须有唯一编号",
                location=Location(record=r.record_id),
            )
        by_id[r.record_id] = r
        key = (r.enterprise_id, r.month, r.carrier, r.flow.value, r.subtype)
        other = by_key.get(key)
        if other is not None:
            sub = f" ({r.subtype})" if r.subtype else ""
            raise ConflictError(
                f"records {other.record_id!r} and {r.record_id!r} both give {r.flow.value} {r.carrier}{sub} "
                f"of {r.enterprise_id} in {r.month}",
                message_zh=f"记录 {other.record_id!r} 与 {r.record_id!r} 重复填报了 {r.enterprise_id} "
                f"{r.month} 的 {r.carrier}{sub}（{r.flow.value}）",
                hint="keep one row per enterprise, month, carrier and flow (sum bills before recording)",
                hint_zh="每个企业、月份、品种、流向只保留一行（多张账单请先合计）",
                location=Location(record=r.record_id, value=r.quantity),
            )
        by_key[key] = r


def sorted_records(records: Iterable[ActivityRecord]) -> list[ActivityRecord]:
    """Records in a canonical order (results must not depend on input order)."""
    return sorted(
        records,
        key=lambda r: (r.enterprise_id, r.month, r.carrier, r.subtype or "", r.flow.value, r.record_id),
    )


def check_months_in_year(months: Iterable[Month], year: int, what: str) -> None:
    """Factors are for one accounting year: refuse activity of another year."""
    bad = sorted({m for m in months if m.year != year})
    if bad:
        raise CalculationError(
            f"{what} of {', '.join(map(str, bad[:3]))} cannot use the factors of {year}",
            message_zh=f"{what}（{', '.join(map(str, bad[:3]))}）不能使用 {year} 年的核算因子",
            hint="account each year with that year's factor set",
            hint_zh="请按年份分别使用对应年份的因子集核算",
        )


@dataclass(frozen=True)
class Coverage:
    """Completeness of a total.

    Attributes
    ----------
    records : ids of all records that entered the calculation.
    missing_records : ids of records whose quantity is unknown (``None``); the lines they
        belong to have no value and are left out of the total, which is then partial.
    """

    records: tuple[str, ...] = ()
    missing_records: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing_records

    @property
    def covered_frac(self) -> float | None:
        """Share of records with a value [fraction]; ``None`` when there are no records."""
        if not self.records:
            return None
        return 1.0 - len(self.missing_records) / len(self.records)

    @staticmethod
    def merge(parts: Sequence[Coverage]) -> Coverage:
        return Coverage(
            records=tuple(sorted({r for p in parts for r in p.records})),
            missing_records=tuple(sorted({r for p in parts for r in p.missing_records})),
        )
