"""Calculation traces: every reported number points at its activity data, factor and method.

A :class:`FactorRef` is the part of a factor row that a result must carry (core never
imports the factor package; the caller passes factor values in together with their refs).
A :class:`TraceStep` records one multiplication or sum: which record, which factor,
which method, the resulting value. Results hold a tuple of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CODE_VERSION", "FactorRef", "TraceStep"]

CODE_VERSION = "0.1.0"


@dataclass(frozen=True)
class FactorRef:
    """A factor value with its provenance.

    Attributes
    ----------
    factor_id : stable id of the factor row (``set_id:row_key``).
    key : what the factor is for (e.g. ``grid_ef.average``, ``coal_coef.raw_coal``).
    value : the number.
    unit : its unit (e.g. ``tCO2/MWh``, ``kgce/kg``).
    source : source id / citation of the row.
    grade : evidence grade (A, B, C, D, UNVERIFIED).
    region : region it applies to (``CN`` for national).
    year : data year it applies to, if any.
    set_version : version of the factor set the row belongs to.
    fallback_note : set when a declared fallback policy selected this row (e.g. latest year).
    """

    factor_id: str
    key: str
    value: float
    unit: str
    source: str
    grade: str
    region: str = "CN"
    year: int | None = None
    set_version: str = ""
    fallback_note: str | None = None


@dataclass(frozen=True)
class TraceStep:
    """One step of a calculation.

    ``result`` is in ``result_unit``; ``factors`` are the factors used;
    ``records`` the activity record ids; ``method`` names the formula and clause.
    """

    method: str
    result: float
    result_unit: str
    records: tuple[str, ...] = ()
    factors: tuple[FactorRef, ...] = ()
    note: str = ""
    inputs: tuple[tuple[str, float], ...] = field(default=())
