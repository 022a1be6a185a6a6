"""parkcarbon.factors — versioned reference factors with provenance (因子库).

Packaged factor sets live in ``factors/data/sets/<set_id>/`` (``manifest.csv`` +
``factors.csv``), with ``sources.csv`` and ``regions.csv`` beside them. Every row keeps
its value in the source's unit, its source(s) and an evidence grade; the registry serves it
in the unit :mod:`parkcarbon.core.factorset` fixes. See :mod:`parkcarbon.factors.registry`
for lookups and fallback policies, :func:`accounting_factors` for one accounting run.

Typical use::

    from parkcarbon.factors import accounting_factors, lookup, FallbackPolicy

    ref = lookup("grid_ef", region="江苏", year=2022, method="average")   # 0.5978 tCO2/MWh
    af = accounting_factors("江苏省", 2023, policy=FallbackPolicy.REGION_THEN_YEAR)
"""

from parkcarbon.factors.accounting import DEFAULT_FUEL_SET, GridCalibre, accounting_factors
from parkcarbon.factors.model import (
    FactorRow,
    FactorSet,
    Grade,
    OverrideRecord,
    Region,
    SetKind,
    SetManifest,
    Source,
)
from parkcarbon.factors.registry import (
    FactorFallbackWarning,
    FactorRegistry,
    FactorWarning,
    FallbackPolicy,
    Resolution,
    UnverifiedFactorWarning,
    check_user_dirs,
    default_registry,
    lookup,
)

__all__ = [
    "DEFAULT_FUEL_SET",
    "FactorFallbackWarning",
    "FactorRegistry",
    "FactorRow",
    "FactorSet",
    "FactorWarning",
    "FallbackPolicy",
    "Grade",
    "GridCalibre",
    "OverrideRecord",
    "Region",
    "Resolution",
    "SetKind",
    "SetManifest",
    "Source",
    "UnverifiedFactorWarning",
    "accounting_factors",
    "check_user_dirs",
    "default_registry",
    "lookup",
]
