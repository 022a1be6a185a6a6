"""The factor registry (因子库): packaged factor sets plus user sets, looked up with provenance.

A lookup asks for ``(key, region, year, method)`` (and a ``variant``, e.g. a steam pressure)
and returns a :class:`~parkcarbon.core.trace.FactorRef` in the served unit (see
:mod:`parkcarbon.factors.conversion`), carrying the row's id, source citation, evidence grade
and set version.

Nothing is guessed. When the exact ``(region, year)`` has no row, a fallback happens only
under a declared :class:`FallbackPolicy`; it emits a :class:`FactorFallbackWarning` and is
recorded in ``FactorRef.fallback_note`` (NOTES §3.5 rule 1: "if that year is not yet
published, use the latest published year and flag it"). Rows graded ``UNVERIFIED`` are skipped
unless the caller passes ``allow_unverified=True``; then the use is warned and recorded too.

User sets (same CSV layout, see :mod:`parkcarbon.factors.loader`) either add a new set or,
when their manifest says ``overrides=<set_id>``, add rows to / replace rows of that set. Every
replaced row is kept in :attr:`FactorRegistry.overrides` and on the new row (``replaces``); the
set version becomes ``<version>+<user_set>@<user_version>``.
"""

from __future__ import annotations

import difflib
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import FactorDataError, FactorError, FactorNotFoundError, InputError, Location
from parkcarbon.factors.loader import read_factor_rows, read_manifest, read_regions, read_sources
from parkcarbon.factors.model import (
    FactorRow,
    FactorSet,
    Grade,
    OverrideRecord,
    Region,
    Source,
    make_ref,
    validity_overlaps,
)

__all__ = [
    "DATA_DIR",
    "FactorFallbackWarning",
    "FactorRegistry",
    "FactorWarning",
    "FallbackPolicy",
    "Resolution",
    "UnverifiedFactorWarning",
    "check_user_dirs",
    "default_registry",
    "lookup",
]

DATA_DIR = Path(__file__).parent / "data"
NATIONAL = "CN"


class FallbackPolicy(StrEnum):
    """How a lookup may fall back when the exact ``(region, year)`` has no row (回退策略).

    * ``STRICT`` — no fallback: a missing factor raises.
    * ``LATEST_PUBLISHED_YEAR`` — same region; if year *Y* is not published, the latest
      published year < *Y* (for an effective-dated row without a data year: the last year of
      its validity, e.g. the ETS factor 0.5703 valid to 2025 asked for 2026).
    * ``REGION_HIERARCHY`` — same year; province → its regional grid → national.
    * ``REGION_THEN_YEAR`` — NOTES §3.5 rule 1: the consumption year first (province, then
      regional grid, then national), then each earlier published year in turn.
    * ``YEAR_THEN_REGION`` — the region's latest published year ≤ *Y* first, then up the
      hierarchy.
    """

    STRICT = "strict"
    LATEST_PUBLISHED_YEAR = "latest_published_year"
    REGION_HIERARCHY = "region_hierarchy"
    REGION_THEN_YEAR = "region_then_year"
    YEAR_THEN_REGION = "year_then_region"


_REGION_POLICIES = frozenset(
    {FallbackPolicy.REGION_HIERARCHY, FallbackPolicy.REGION_THEN_YEAR, FallbackPolicy.YEAR_THEN_REGION}
)


class FactorWarning(UserWarning):
    """Base of the warnings of the factor registry."""


class FactorFallbackWarning(FactorWarning):
    """A declared fallback policy selected another year or region."""


class UnverifiedFactorWarning(FactorWarning):
    """An ``UNVERIFIED`` row (or mapping) was used because the caller opted in."""


@dataclass(frozen=True)
class Resolution:
    """The outcome of a lookup: the row, its :class:`FactorRef` and the notes (fallbacks…)."""

    ref: FactorRef
    row: FactorRow
    notes: tuple[str, ...] = ()
    warning_kinds: tuple[type[FactorWarning], ...] = ()

    @property
    def is_fallback(self) -> bool:
        return bool(self.notes)

    def emit(self, stacklevel: int = 3) -> None:
        """Emit each note as a warning (fallback or unverified)."""
        for note, kind in zip(self.notes, self.warning_kinds, strict=True):
            warnings.warn(note, kind, stacklevel=stacklevel)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")


class FactorRegistry:
    """Factor sets, sources and regions; lookups with fallback policies.

    Build it with :meth:`load` (packaged sets plus optional user directories); the packaged
    registry is cached by :func:`default_registry`.
    """

    def __init__(
        self,
        sets: Mapping[str, FactorSet],
        sources: Mapping[str, Source],
        regions: Mapping[str, Region],
        overrides: Sequence[OverrideRecord] = (),
    ) -> None:
        self._sets = dict(sets)
        self._sources = dict(sources)
        self._regions = dict(regions)
        self._overrides = tuple(overrides)
        self._by_key: dict[str, list[tuple[FactorSet, FactorRow]]] = {}
        for factor_set in self._sets.values():
            for row in factor_set.rows:
                self._by_key.setdefault(row.key, []).append((factor_set, row))
        self._by_name: dict[str, str] = {}
        for region in self._regions.values():
            for name in (region.code, region.name_zh, region.name_en, *region.aliases):
                self._by_name[_norm(name)] = region.code

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, user_dirs: Iterable[str | Path] = (), *, data_dir: str | Path | None = None) -> FactorRegistry:
        """Load the packaged sets (``data_dir``, default the package data) and user sets.

        Each user directory is either one set (it holds ``manifest.csv``) or a folder of set
        directories. Raises :class:`~parkcarbon.errors.FactorDataError` on any invalid row.
        """
        base = Path(data_dir) if data_dir is not None else DATA_DIR
        sources = read_sources(base / "sources.csv")
        regions = read_regions(base / "regions.csv", sources)
        sets: dict[str, FactorSet] = {}
        overrides: list[OverrideRecord] = []
        set_dirs = sorted(p.parent for p in (base / "sets").glob("*/manifest.csv"))
        for set_dir in set_dirs:
            manifest = read_manifest(set_dir / "manifest.csv", packaged=True)
            if manifest.set_id != set_dir.name:
                raise FactorDataError(
                    f"set_id {manifest.set_id!r} differs from its directory name {set_dir.name!r}",
                    message_zh=f"set_id {manifest.set_id!r} 与目录名 {set_dir.name!r} 不一致",
                    hint="name the directory after the set_id",
                    hint_zh="目录名应与 set_id 相同",
                    location=Location(file=str(set_dir / "manifest.csv"), row=2, column="set_id", value=manifest.set_id),
                )
            rows = read_factor_rows(set_dir / "factors.csv", manifest.set_id, sources, regions)
            sets[manifest.set_id] = FactorSet(manifest, tuple(rows))
        for user_dir in user_dirs:
            for set_dir in _user_set_dirs(Path(user_dir)):
                _add_user_set(set_dir, sets, sources, regions, overrides)
        _check_default_sets_disjoint(sets)
        return cls(sets, sources, regions, overrides)

    # ------------------------------------------------------------------ accessors
    @property
    def sets(self) -> Mapping[str, FactorSet]:
        return dict(self._sets)

    @property
    def sources(self) -> Mapping[str, Source]:
        return dict(self._sources)

    @property
    def regions(self) -> Mapping[str, Region]:
        return dict(self._regions)

    @property
    def overrides(self) -> tuple[OverrideRecord, ...]:
        """Rows replaced by user sets (explicit, recorded)."""
        return self._overrides

    def factor_set(self, set_id: str) -> FactorSet:
        try:
            return self._sets[set_id]
        except KeyError:
            raise FactorNotFoundError(
                f"no factor set {set_id!r}",
                message_zh=f"没有因子集 {set_id!r}",
                hint="known sets: " + ", ".join(sorted(self._sets)),
                hint_zh="已有因子集：" + "、".join(sorted(self._sets)),
            ) from None

    def rows(
        self,
        *,
        key: str | None = None,
        region: str | None = None,
        year: int | None = None,
        set_id: str | None = None,
        method: str | None = None,
    ) -> list[FactorRow]:
        """All rows matching the filters (``key`` matches a prefix: ``grid_ef``, ``coal_coef.``…)."""
        sets = [self.factor_set(set_id)] if set_id is not None else list(self._sets.values())
        code = self.region(region).code if region is not None else None
        out = []
        for s in sets:
            for row in s.rows:
                if key is not None and not (row.key == key or row.key.startswith(key.rstrip(".") + ".")):
                    continue
                if code is not None and row.region != code:
                    continue
                if year is not None and not ((row.year is None or row.year == year) and row.applies_in(year)):
                    continue
                if method is not None and row.method != method:
                    continue
                out.append(row)
        return out

    def has_key(self, key: str, *, set_id: str | None = None) -> bool:
        """Whether any row of ``key`` exists (in ``set_id``, or in any default set)."""
        return any(
            (s.set_id == set_id if set_id is not None else s.manifest.default) for s, _ in self._by_key.get(key, [])
        )

    def keys(self) -> list[str]:
        return sorted({row.key for s in self._sets.values() for row in s.rows})

    def source_text(self, row: FactorRow) -> str:
        return make_ref(row, self._sources, "", None).source

    # ------------------------------------------------------------------ regions
    def region(self, text: str) -> Region:
        """Resolve a region from its code (``CN-JS``), Chinese name (``江苏``/``江苏省``), alias or English name."""
        norm = _norm(text)
        code = self._by_name.get(norm)
        if code is None:
            for suffix in _SUFFIXES:
                if norm.endswith(suffix) and len(norm) > len(suffix):
                    code = self._by_name.get(norm[: -len(suffix)])
                    if code is not None:
                        break
        if code is None:
            known = ", ".join(f"{r.code} ({r.name_zh})" for r in self._regions.values())
            raise InputError(
                f"unknown region {text!r}",
                message_zh=f"未知地区 {text!r}",
                hint=f"use a province (e.g. 江苏, 江苏省, CN-JS), a grid region (华东) or CN; known: {known}",
                hint_zh=f"请使用省份（如 江苏、江苏省、CN-JS）、区域电网（华东）或 CN；已知：{known}",
                code="E-INPUT-REGION",
            )
        return self._regions[code]

    def region_chain(self, code: str, *, allow_unverified: bool = False) -> list[tuple[str, str | None, bool]]:
        """The hierarchy above ``code``: ``(region code, note, uses_unverified)``, itself first, ``CN`` last.

        A membership graded ``UNVERIFIED`` (e.g. 四川 → 西南) is skipped unless
        ``allow_unverified``: the chain then goes from the province straight to ``CN``, and
        the level after the skip carries a note saying so. With the opt-in, the level reached
        through the unverified membership carries a note and ``uses_unverified=True``.
        """
        chain: list[tuple[str, str | None, bool]] = [(code, None, False)]
        pending: str | None = None
        region = self._regions[code]
        while region.parent is not None:
            parent = self._regions[region.parent]
            if region.grade is Grade.UNVERIFIED and parent.code != NATIONAL:
                if not allow_unverified:
                    pending = f"skipped {parent.code} ({parent.name_zh}): membership of {region.code} is UNVERIFIED"
                    region = parent
                    continue
                chain.append(
                    (parent.code, f"membership {region.code} → {parent.code} ({parent.name_zh}) is UNVERIFIED; used by explicit opt-in", True)
                )
            else:
                chain.append((parent.code, pending, False))
                pending = None
            region = parent
        if chain[-1][0] != NATIONAL:
            chain.append((NATIONAL, pending, False))
        return chain

    # ------------------------------------------------------------------ lookup
    def resolve(
        self,
        key: str,
        *,
        region: str = NATIONAL,
        year: int | None = None,
        method: str = "",
        variant: str = "",
        set_id: str | None = None,
        policy: FallbackPolicy = FallbackPolicy.STRICT,
        allow_unverified: bool = False,
    ) -> Resolution:
        """Find the row for ``(key, variant, region, year, method)`` under ``policy``.

        Raises :class:`~parkcarbon.errors.FactorNotFoundError` naming what was asked and what
        exists (code ``E-FACTOR-UNVERIFIED`` when only UNVERIFIED rows match and no opt-in was
        given), or :class:`~parkcarbon.errors.FactorError` if two sets match ambiguously.
        """
        policy = FallbackPolicy(policy)
        code = self.region(region).code
        if set_id is not None:
            self.factor_set(set_id)  # unknown set → FactorNotFoundError
        pool = [
            (s, row)
            for s, row in self._by_key.get(key, [])
            if (s.set_id == set_id if set_id is not None else s.manifest.default)
            and row.variant == variant
            and row.method == method
        ]
        asked = _asked(key, variant, code, year, method, set_id)
        if not pool:
            raise self._missing_key(key, variant, method, set_id, asked)

        chain = self.region_chain(code, allow_unverified=allow_unverified)
        years = [year]
        if year is not None:
            earlier = {r.year for _, r in pool if r.year is not None and r.year < year}
            # a year-less row whose validity ended before `year` counts as published for its last year
            earlier |= {r.valid_to.year for _, r in pool if r.year is None and r.valid_to is not None and r.valid_to.year < year}
            years += sorted(earlier, reverse=True)
        levels = chain if policy in _REGION_POLICIES else chain[:1]
        if policy in (FallbackPolicy.STRICT, FallbackPolicy.REGION_HIERARCHY):
            years = years[:1]
        if policy is FallbackPolicy.YEAR_THEN_REGION:
            steps = [(level, y) for level in levels for y in years]
        else:
            steps = [(level, y) for y in years for level in levels]

        skipped: list[FactorRow] = []
        for index, ((step_region, level_note, level_unverified), step_year) in enumerate(steps):
            matches = [(s, r) for s, r in pool if r.region == step_region and _year_matches(r, step_year)]
            usable = [(s, r) for s, r in matches if allow_unverified or r.grade is not Grade.UNVERIFIED]
            skipped += [
                r for _, r in matches if r.grade is Grade.UNVERIFIED and not allow_unverified and r not in skipped
            ]
            if not usable:
                continue
            specific = [(s, r) for s, r in usable if r.year is not None]
            usable = specific or usable
            if len(usable) > 1:
                raise FactorError(
                    f"{asked} matches {len(usable)} rows: " + ", ".join(r.factor_id for _, r in usable),
                    message_zh=f"{asked} 匹配到 {len(usable)} 行因子，无法确定使用哪一行",
                    hint="name the factor set (set_id) to use",
                    hint_zh="请指定要使用的因子集（set_id）",
                    code="E-FACTOR-AMBIGUOUS",
                )
            factor_set, row = usable[0]
            notes: list[str] = []
            kinds: list[type[FactorWarning]] = []
            if index > 0:
                used = row.region + (f" {row.year}" if row.year is not None else "")
                text = f"{asked}: not found; used {used} ({row.factor_id}) by fallback policy {policy.value}"
                if level_note and not level_unverified:
                    text += f"; {level_note}"
                notes.append(text)
                kinds.append(FactorFallbackWarning)
            if level_unverified and level_note:
                notes.append(level_note)
                kinds.append(UnverifiedFactorWarning)
            for s_row in skipped:
                notes.append(f"skipped UNVERIFIED row {s_row.factor_id} = {s_row.value} {s_row.unit} (no opt-in)")
                kinds.append(FactorFallbackWarning)
            if row.grade is Grade.UNVERIFIED:
                notes.append(f"{row.factor_id} is graded UNVERIFIED ({row.evidence}); used by explicit opt-in")
                kinds.append(UnverifiedFactorWarning)
            ref = make_ref(row, self._sources, factor_set.version, " | ".join(notes) if notes else None)
            return Resolution(ref, row, tuple(notes), tuple(kinds))

        if skipped:
            listing = "; ".join(f"{r.factor_id} = {r.value} {r.unit}" for r in skipped)
            raise FactorNotFoundError(
                f"{asked}: only UNVERIFIED rows match ({listing})",
                message_zh=f"{asked}：只有待核实（UNVERIFIED）的因子行匹配（{listing}）",
                hint="check the value against the official text and add it as a graded user set row, "
                "or opt in explicitly (allow_unverified=True / --allow-unverified)",
                hint_zh="请对照官方原文核实后以用户因子集补充，或显式允许使用待核实数值（allow_unverified=True / --allow-unverified）",
                code="E-FACTOR-UNVERIFIED",
            )
        raise self._missing(pool, asked, policy, [level[0] for level in chain])

    def lookup(
        self,
        key: str,
        *,
        region: str = NATIONAL,
        year: int | None = None,
        method: str = "",
        variant: str = "",
        set_id: str | None = None,
        policy: FallbackPolicy = FallbackPolicy.STRICT,
        allow_unverified: bool = False,
    ) -> FactorRef:
        """Like :meth:`resolve` but returns the :class:`FactorRef` and emits the notes as warnings."""
        res = self.resolve(
            key,
            region=region,
            year=year,
            method=method,
            variant=variant,
            set_id=set_id,
            policy=policy,
            allow_unverified=allow_unverified,
        )
        res.emit(stacklevel=3)
        return res.ref

    # ------------------------------------------------------------------ errors
    def _missing_key(self, key: str, variant: str, method: str, set_id: str | None, asked: str) -> FactorNotFoundError:
        sets = [self.factor_set(set_id)] if set_id is not None else list(self._sets.values())
        same_key = sorted({(r.variant, r.method, s.set_id) for s in sets for r in s.rows if r.key == key})
        if same_key:
            exists = "; ".join(
                f"variant={v!r} method={m!r} in {sid}" + ("" if self._sets[sid].manifest.default else " (name the set)")
                for v, m, sid in same_key
            )
        else:
            close = difflib.get_close_matches(key, self.keys(), n=5, cutoff=0.5)
            exists = "no such key" + (f"; did you mean: {', '.join(close)}" if close else "")
        return FactorNotFoundError(
            f"no factor for {asked}; exists: {exists}",
            message_zh=f"没有 {asked} 的因子；现有：{exists}",
            hint="ask for an existing variant/method/set, or add a user factor set",
            hint_zh="请查询已有的 variant/method/因子集，或添加用户因子集",
        )

    def _missing(
        self, pool: list[tuple[FactorSet, FactorRow]], asked: str, policy: FallbackPolicy, chain: list[str]
    ) -> FactorNotFoundError:
        by_region: dict[str, set[str]] = {}
        for _, row in pool:
            by_region.setdefault(row.region, set()).add(
                str(row.year) if row.year is not None else f"any year{_validity(row)}"
            )
        near = [c for c in chain if c in by_region]
        others = sorted(set(by_region) - set(near))
        exists = "; ".join(f"{reg}: {', '.join(sorted(by_region[reg]))}" for reg in near) or f"nothing for {', '.join(chain)}"
        if others:
            exists += f"; and {len(others)} other region(s): {', '.join(others[:8])}{'…' if len(others) > 8 else ''}"
        return FactorNotFoundError(
            f"no factor for {asked} under fallback policy {policy.value}; exists: {exists}",
            message_zh=f"回退策略 {policy.value} 下没有 {asked} 的因子；现有：{exists}",
            hint="declare a fallback policy (latest_published_year, region_hierarchy, region_then_year…) "
            "or add the factor in a user factor set",
            hint_zh="请声明回退策略（latest_published_year、region_hierarchy、region_then_year 等）或在用户因子集中补充该因子",
        )


def _asked(key: str, variant: str, region: str, year: int | None, method: str, set_id: str | None) -> str:
    text = f"key={key}"
    if variant:
        text += f" variant={variant}"
    text += f" region={region} year={year if year is not None else '-'}"
    if method:
        text += f" method={method}"
    if set_id:
        text += f" set={set_id}"
    return text


def _validity(row: FactorRow) -> str:
    if row.valid_from is None and row.valid_to is None:
        return ""
    return f" valid {row.valid_from or '…'}..{row.valid_to or '…'}"


def _year_matches(row: FactorRow, year: int | None) -> bool:
    if year is None:
        return row.year is None
    return (row.year is None or row.year == year) and row.applies_in(year)


def _user_set_dirs(path: Path) -> list[Path]:
    if (path / "manifest.csv").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("*/manifest.csv")) if path.is_dir() else []
    if not found:
        raise FactorDataError(
            f"no factor set found in {path} (expected manifest.csv and factors.csv)",
            message_zh=f"{path} 中没有因子集（应有 manifest.csv 和 factors.csv）",
            hint="a user set directory holds manifest.csv, factors.csv and optionally sources.csv",
            hint_zh="用户因子集目录应包含 manifest.csv、factors.csv，可选 sources.csv",
            location=Location(file=str(path)),
        )
    return found


def _add_user_set(
    set_dir: Path,
    sets: dict[str, FactorSet],
    sources: dict[str, Source],
    regions: Mapping[str, Region],
    overrides: list[OverrideRecord],
) -> None:
    if (set_dir / "sources.csv").is_file():
        sources.update(read_sources(set_dir / "sources.csv", known=sources))
    manifest = read_manifest(set_dir / "manifest.csv", packaged=False)
    where = Location(file=str(set_dir / "manifest.csv"), row=2, column="set_id", value=manifest.set_id)
    if manifest.set_id in sets:
        raise FactorDataError(
            f"user set id {manifest.set_id!r} is already used",
            message_zh=f"用户因子集编号 {manifest.set_id!r} 已被使用",
            hint=f"give the set a new id; to change rows of {manifest.set_id!r} declare overrides={manifest.set_id} with a new set_id",
            hint_zh=f"请使用新的编号；如需修改 {manifest.set_id!r} 的行，请用新编号并声明 overrides={manifest.set_id}",
            location=where,
        )
    rows = read_factor_rows(set_dir / "factors.csv", manifest.set_id, sources, regions)
    if manifest.overrides is None:
        sets[manifest.set_id] = FactorSet(manifest, tuple(rows))
        return
    if manifest.overrides not in sets:
        raise FactorDataError(
            f"overrides={manifest.overrides!r}: no such set",
            message_zh=f"overrides={manifest.overrides!r}：没有该因子集",
            hint="known sets: " + ", ".join(sorted(sets)),
            hint_zh="已有因子集：" + "、".join(sorted(sets)),
            location=replace(where, column="overrides", value=manifest.overrides),
        )
    base = sets[manifest.overrides]
    merged = list(base.rows)
    for row in rows:
        clash = [old for old in merged if old.identity == row.identity and validity_overlaps(old, row)]
        for old in clash:
            merged.remove(old)
            overrides.append(
                OverrideRecord(
                    set_id=base.set_id,
                    by_set=manifest.set_id,
                    identity=row.identity,
                    old_value=old.value,
                    old_unit=old.unit,
                    new_value=row.value,
                    new_unit=row.unit,
                    file=row.file,
                    row=row.row,
                )
            )
        merged.append(replace(row, replaces=clash[0]) if clash else row)
    sets[base.set_id] = FactorSet(base.manifest, tuple(merged), (*base.layers, manifest))


def _check_default_sets_disjoint(sets: Mapping[str, FactorSet]) -> None:
    """Two default-searched sets must never both offer a row for the same identity and time."""
    seen: dict[tuple[str, str, str, int | None, str], list[tuple[str, FactorRow]]] = {}
    for s in sets.values():
        if not s.manifest.default:
            continue
        for row in s.rows:
            for other_set, other in seen.get(row.identity, []):
                if other_set != s.set_id and validity_overlaps(row, other):
                    raise FactorDataError(
                        f"row {row.factor_id} duplicates {other.factor_id} of set {other_set!r}",
                        message_zh=f"因子行 {row.factor_id} 与因子集 {other_set!r} 的 {other.factor_id} 重复",
                        hint=f"declare overrides={other_set} in the manifest to replace it explicitly, "
                        "or set default=no so the set is used only when named",
                        hint_zh=f"如需替换，请在清单中声明 overrides={other_set}；或设置 default=no，仅在指定时使用",
                        location=Location(file=row.file, row=row.row, column="key", value=row.key),
                    )
            seen.setdefault(row.identity, []).append((s.set_id, row))


def check_user_dirs(
    user_dirs: Iterable[str | Path], *, data_dir: str | Path | None = None
) -> tuple[FactorRegistry | None, list[FactorDataError]]:
    """Validate user factor sets and report **every** bad row, not only the first.

    Returns ``(registry, [])`` when the sets load cleanly together with the packaged ones,
    else ``(None, errors)`` (each error with file, row, column and value).
    """
    base = Path(data_dir) if data_dir is not None else DATA_DIR
    dirs = [Path(d) for d in user_dirs]
    packaged_sources = read_sources(base / "sources.csv")
    regions = read_regions(base / "regions.csv", packaged_sources)
    errors: list[FactorDataError] = []
    for user_dir in dirs:
        try:
            set_dirs = _user_set_dirs(user_dir)
        except FactorDataError as exc:
            errors.append(exc)
            continue
        for set_dir in set_dirs:
            try:
                sources = dict(packaged_sources)
                if (set_dir / "sources.csv").is_file():
                    sources.update(read_sources(set_dir / "sources.csv", known=sources))
                manifest = read_manifest(set_dir / "manifest.csv", packaged=False)
                read_factor_rows(set_dir / "factors.csv", manifest.set_id, sources, regions, errors)
            except FactorDataError as exc:
                errors.append(exc)
    if errors:
        return None, errors
    try:
        return FactorRegistry.load(dirs, data_dir=base), []
    except FactorDataError as exc:
        return None, [exc]


@lru_cache(maxsize=1)
def default_registry() -> FactorRegistry:
    """The packaged factor sets (loaded once)."""
    return FactorRegistry.load()


def lookup(
    key: str,
    *,
    region: str = NATIONAL,
    year: int | None = None,
    method: str = "",
    variant: str = "",
    set_id: str | None = None,
    policy: FallbackPolicy = FallbackPolicy.STRICT,
    allow_unverified: bool = False,
    registry: FactorRegistry | None = None,
) -> FactorRef:
    """Look up one factor in ``registry`` (default: the packaged sets). See :meth:`FactorRegistry.resolve`."""
    res = (registry or default_registry()).resolve(
        key,
        region=region,
        year=year,
        method=method,
        variant=variant,
        set_id=set_id,
        policy=policy,
        allow_unverified=allow_unverified,
    )
    res.emit(stacklevel=3)
    return res.ref
