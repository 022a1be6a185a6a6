"""One exception tree for parkcarbon.

Library code raises these; it never prints. Every error carries a stable ``code``
(used by the CLI exit messages, the API's problem+json ``type`` and the tests), a
message in English and in Chinese, and, for input errors, the location of the bad
value (file, row, column, value) and a hint on how to fix it.

::

    ParkcarbonError                      code prefix
    ├── InputError                       E-INPUT   bad data from a user or a device
    │   ├── UnitError                    E-UNIT    unknown / incompatible unit string
    │   ├── UnknownCarrierError          E-CARRIER carrier name not in the vocabulary
    │   ├── QuantityError                E-QTY     negative, non-numeric, NaN quantity
    │   ├── PeriodError                  E-PERIOD  bad or overlapping period / timestamp
    │   ├── TemplateError                E-TEMPLATE wrong or malformed upload file
    │   ├── UploadRejectedError          E-UPLOAD  hostile / oversized / disallowed file
    │   └── BatchRejectedError           E-BATCH   an upload/batch with row errors (all listed in .errors)
    ├── FactorError                      E-FACTOR
    │   ├── FactorNotFoundError          E-FACTOR-MISSING no factor for (key, region, year, method)
    │   └── FactorDataError              E-FACTOR-DATA    factor CSV malformed
    ├── CalculationError                 E-CALC    inconsistent inputs to a formula
    ├── DataIntegrityError               E-INTEGRITY
    │   ├── ConflictError                E-CONFLICT duplicate key with a different value
    │   └── LockedPeriodError            E-LOCKED  write to a submitted/verified/locked period
    ├── StoreError                       E-STORE
    │   └── StoreCorruptError            E-STORE-CORRUPT refuse to run on a corrupt store
    ├── NotFoundError                    E-NOTFOUND object does not exist (or is not yours)
    ├── PermissionDeniedError            E-FORBIDDEN
    ├── PlanningError                    E-PLAN
    │   └── InfeasibleError              E-PLAN-INFEASIBLE optimisation has no solution
    └── ReportError                      E-REPORT  a report could not be rendered (e.g. PDF renderer)

All of them are :class:`ParkcarbonError`, so a delivery layer can catch one type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BatchRejectedError",
    "CalculationError",
    "ConflictError",
    "DataIntegrityError",
    "FactorDataError",
    "FactorError",
    "FactorNotFoundError",
    "InfeasibleError",
    "InputError",
    "Location",
    "LockedPeriodError",
    "NotFoundError",
    "ParkcarbonError",
    "PeriodError",
    "PermissionDeniedError",
    "PlanningError",
    "QuantityError",
    "ReportError",
    "StoreCorruptError",
    "StoreError",
    "TemplateError",
    "UnitError",
    "UnknownCarrierError",
    "UploadRejectedError",
]


@dataclass(frozen=True)
class Location:
    """Where a bad value was found. Every field is optional.

    ``row`` is 1-based as a user sees it in Excel (header is row 1);
    ``column`` is the header text or the Excel column letter.
    """

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    record: str | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ", ".join(parts)

    def describe_zh(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(f"文件 {self.file}")
        if self.sheet is not None:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column is not None:
            parts.append(f"列 {self.column}")
        if self.record is not None:
            parts.append(f"记录 {self.record}")
        if self.value is not None:
            parts.append(f"值 {self.value!r}")
        return "，".join(parts)


class ParkcarbonError(Exception):
    """Base of every parkcarbon error.

    Parameters
    ----------
    message : English message (what is wrong).
    message_zh : Chinese message; defaults to the English one.
    hint : how to fix it (English).
    hint_zh : how to fix it (Chinese).
    location : where the bad value is.
    code : stable error code; defaults to the class code.
    """

    code: str = "E-PARKCARBON"

    def __init__(
        self,
        message: str,
        *,
        message_zh: str | None = None,
        hint: str | None = None,
        hint_zh: str | None = None,
        location: Location | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.message_zh = message_zh or message
        self.hint = hint
        self.hint_zh = hint_zh or hint
        self.location = location
        if code is not None:
            self.code = code
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.location is not None and self.location.describe():
            text += f" ({self.location.describe()})"
        if self.hint:
            text += f". Fix: {self.hint}"
        return text

    def bilingual(self) -> str:
        """Message for a person: Chinese first, then English."""
        zh = f"[{self.code}] {self.message_zh}"
        if self.location is not None and self.location.describe_zh():
            zh += f"（{self.location.describe_zh()}）"
        if self.hint_zh:
            zh += f"。处理方法：{self.hint_zh}"
        return f"{zh}\n{self}"

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for problem+json bodies and upload error tables."""
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "hint": self.hint,
            "hint_zh": self.hint_zh,
            "file": loc.file if loc else None,
            "sheet": loc.sheet if loc else None,
            "row": loc.row if loc else None,
            "column": loc.column if loc else None,
            "value": None if loc is None or loc.value is None else str(loc.value),
            "record": loc.record if loc else None,
        }


class InputError(ParkcarbonError):
    """Bad data supplied by a user, a file or a device."""

    code = "E-INPUT"


class UnitError(InputError):
    """A unit string that is unknown or incompatible with the carrier."""

    code = "E-UNIT"


class UnknownCarrierError(InputError):
    """An energy carrier name that is not in the carrier vocabulary."""

    code = "E-CARRIER"


class QuantityError(InputError):
    """A quantity that is negative, non-numeric, NaN or infinite."""

    code = "E-QTY"


class PeriodError(InputError):
    """A bad, ambiguous or overlapping period or timestamp."""

    code = "E-PERIOD"


class TemplateError(InputError):
    """An upload that is not the expected template (missing sheet/header…)."""

    code = "E-TEMPLATE"


class UploadRejectedError(InputError):
    """An upload refused for safety: type, size, macros, XML entities, zip bomb."""

    code = "E-UPLOAD"


class BatchRejectedError(InputError):
    """An upload or batch rejected as a whole because some rows are bad (nothing was written).

    ``errors`` holds every row error found (each a :class:`ParkcarbonError` with its location),
    so a user can fix the file in one go.
    """

    code = "E-BATCH"

    def __init__(self, message: str, *, errors: list[ParkcarbonError] | None = None, **kwargs: Any) -> None:
        self.errors: list[ParkcarbonError] = list(errors or [])
        super().__init__(message, **kwargs)


class FactorError(ParkcarbonError):
    """Problems with reference factors."""

    code = "E-FACTOR"


class FactorNotFoundError(FactorError):
    """No factor row matches (key, region, year, method) and no fallback policy allows one."""

    code = "E-FACTOR-MISSING"


class FactorDataError(FactorError):
    """A factor data file is malformed (bad value, unit, period, missing source)."""

    code = "E-FACTOR-DATA"


class CalculationError(ParkcarbonError):
    """Inputs to a formula are inconsistent (e.g. exports larger than supply)."""

    code = "E-CALC"


class DataIntegrityError(ParkcarbonError):
    """A write that would break a data-integrity rule (RELIABILITY.md R1–R11)."""

    code = "E-INTEGRITY"


class ConflictError(DataIntegrityError):
    """A duplicate natural key with a different value (kept as a conflict, R2)."""

    code = "E-CONFLICT"


class LockedPeriodError(DataIntegrityError):
    """A change to a submitted, verified or locked reporting period (R7)."""

    code = "E-LOCKED"


class StoreError(ParkcarbonError):
    """The data store cannot be used."""

    code = "E-STORE"


class StoreCorruptError(StoreError):
    """The store failed its integrity check: restore from backup (R18)."""

    code = "E-STORE-CORRUPT"


class NotFoundError(ParkcarbonError):
    """The object does not exist, or belongs to another tenant."""

    code = "E-NOTFOUND"


class PermissionDeniedError(ParkcarbonError):
    """The caller's role does not allow the action."""

    code = "E-FORBIDDEN"


class PlanningError(ParkcarbonError):
    """A planning or optimisation problem that cannot be built or solved."""

    code = "E-PLAN"


class InfeasibleError(PlanningError):
    """The optimisation problem has no feasible solution; the message says why."""

    code = "E-PLAN-INFEASIBLE"


class ReportError(ParkcarbonError):
    """A report could not be rendered (renderer missing, failed or produced no output)."""

    code = "E-REPORT"
