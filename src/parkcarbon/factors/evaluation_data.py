"""Loaders for the evaluation and measure reference data (targets, thresholds, benchmarks, catalogue).

The data are CSV files shipped in ``factors/data/evaluation/`` and ``factors/data/measures/``;
every row carries a ``source`` and an evidence ``grade`` (A, B, C, D, UNVERIFIED — see
``/work/shared/reference/README.md``). Many rows are C or UNVERIFIED: they are replaceable
defaults, reported as such by the evaluations. Each loader accepts ``path=`` to use a park's own
file with the same columns instead.

Percent columns (``unit == "%"``) are converted to fractions here, so that the core only sees
fractions.

==================================  =========================================  ==========================
file                                content                                    loader
==================================  =========================================  ==========================
evaluation/zero_carbon_park_criteria.csv  "1 + 5" thresholds (NOTES §4.2)      :func:`load_zero_carbon_criteria`
evaluation/green_factory_indicators.csv   GB/T 36132-2025 indicators, 基准/引领值  :func:`load_scored_indicators`
evaluation/green_park_indicators.csv      MIIT green park indicators, 引领值      :func:`load_scored_indicators`
evaluation/target_sets.csv               carbon-peak pilot and zero-carbon sets  :func:`load_target_set`
evaluation/key_unit_thresholds.csv        重点用能单位 thresholds (NOTES §7.1)    :func:`load_key_unit_thresholds`
evaluation/warning_thresholds.csv         warning grade schemes (NOTES §7.2)      :func:`load_warning_thresholds`
measures/measure_catalogue.csv            measures with savings, capex, lifetime  :func:`load_measure_catalogue`
==================================  =========================================  ==========================
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from parkcarbon.core.budget import WarningThresholds
from parkcarbon.core.evaluation import Comparison, Criterion, ScoredIndicator
from parkcarbon.core.measures import KeyUnitThresholds, MeasureDefinition
from parkcarbon.core.targets import Direction, Milestone, Target
from parkcarbon.errors import FactorDataError, FactorNotFoundError, Location, ParkcarbonError

__all__ = [
    "data_file",
    "load_key_unit_thresholds",
    "load_measure_catalogue",
    "load_scored_indicators",
    "load_target_set",
    "load_warning_thresholds",
    "load_zero_carbon_criteria",
    "target_set_ids",
]

_DATA = "parkcarbon.factors"


def data_file(relative: str) -> Path:
    """Path of a shipped data file, e.g. ``evaluation/target_sets.csv``."""
    return Path(str(resources.files(_DATA).joinpath("data", *relative.split("/"))))


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise FactorDataError(f"cannot read data file {path}: {exc}", message_zh=f"无法读取数据文件 {path}",
                              location=Location(file=str(path))) from exc
    with fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise FactorDataError(f"data file {path.name} lacks columns {missing}",
                                  message_zh=f"数据文件 {path.name} 缺少列 {missing}",
                                  hint="use the shipped file as template", hint_zh="请以随附文件为模板",
                                  location=Location(file=str(path), row=1))
        for i, row in enumerate(reader, start=2):
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            for col in ("source", "grade"):
                if col in required and not clean.get(col):
                    raise FactorDataError(f"row without {col} in {path.name}", message_zh=f"{path.name} 中存在无 {col} 的行",
                                          hint="every reference row needs a source and an evidence grade",
                                          hint_zh="每行参考数据都必须注明来源和证据等级",
                                          location=Location(file=str(path), row=i, column=col))
            yield i, clean


def _num(row: dict[str, str], col: str, path: Path, line: int, *, optional: bool = False) -> float | None:
    text = row.get(col, "")
    if text == "":
        if optional:
            return None
        raise FactorDataError(f"{col} is empty in {path.name}", message_zh=f"{path.name} 中 {col} 为空",
                              location=Location(file=str(path), row=line, column=col))
    try:
        v = float(text)
    except ValueError:
        raise FactorDataError(f"{col} is not a number in {path.name}: {text!r}",
                              message_zh=f"{path.name} 中 {col} 不是数值：{text!r}",
                              location=Location(file=str(path), row=line, column=col, value=text)) from None
    if not math.isfinite(v):
        raise FactorDataError(f"{col} is not finite in {path.name}", message_zh=f"{path.name} 中 {col} 非有限数",
                              location=Location(file=str(path), row=line, column=col, value=text))
    return v


def _bool(row: dict[str, str], col: str, path: Path, line: int) -> bool:
    t = row.get(col, "").lower()
    if t in ("true", "1", "yes", "是"):
        return True
    if t in ("false", "0", "no", "否"):
        return False
    raise FactorDataError(f"{col} must be true/false in {path.name}, got {t!r}",
                          message_zh=f"{path.name} 中 {col} 必须为 true/false",
                          location=Location(file=str(path), row=line, column=col, value=t))


def _pct(value: float | None, unit: str) -> float | None:
    return None if value is None else (value / 100.0 if unit.strip() == "%" else value)


def _wrap(path: Path, line: int, exc: ParkcarbonError) -> FactorDataError:
    return FactorDataError(f"invalid row in {path.name}: {exc.message}", message_zh=f"{path.name} 行无效：{exc.message_zh}",
                           location=Location(file=str(path), row=line))


def load_zero_carbon_criteria(path: Path | None = None) -> tuple[Criterion, ...]:
    """The zero-carbon park "1 + 5" criteria (thresholds as fractions for % rows)."""
    p = path or data_file("evaluation/zero_carbon_park_criteria.csv")
    out = []
    cols = ("criterion_id", "indicator", "name_zh", "binding", "comparison", "threshold", "unit", "energy_min_tce",
            "energy_max_tce", "evidence", "source", "grade", "note")
    for i, r in _rows(p, cols):
        try:
            comp = Comparison(r["comparison"])
        except ValueError:
            raise FactorDataError(f"comparison must be <= or >=, got {r['comparison']!r}",
                                  message_zh="比较符必须为 <= 或 >=",
                                  location=Location(file=str(p), row=i, column="comparison")) from None
        unit = r["unit"]
        out.append(Criterion(
            criterion_id=r["criterion_id"], indicator=r["indicator"], name_zh=r["name_zh"],
            binding=_bool(r, "binding", p, i), comparison=comp,
            threshold=_pct(_num(r, "threshold", p, i, optional=True), unit),
            unit="fraction" if unit == "%" else unit, source=r["source"], grade=r["grade"],
            energy_min_tce=_num(r, "energy_min_tce", p, i, optional=True),
            energy_max_tce=_num(r, "energy_max_tce", p, i, optional=True),
            evidence=tuple(e.strip() for e in r["evidence"].split(";") if e.strip()), note=r["note"],
        ))
    return tuple(out)


def load_scored_indicators(scheme: str = "green_factory", path: Path | None = None) -> tuple[ScoredIndicator, ...]:
    """Indicator definitions with 基准值/引领值: ``scheme`` is ``green_factory`` or ``green_park``."""
    if path is None:
        if scheme not in ("green_factory", "green_park"):
            raise FactorNotFoundError(f"unknown scored scheme {scheme!r}", message_zh=f"未知评价体系 {scheme!r}",
                                      hint="green_factory or green_park")
        path = data_file(f"evaluation/{scheme}_indicators.csv")
    cols = ("indicator_id", "group", "name_zh", "name_en", "unit", "direction", "weight", "baseline", "leading",
            "energy_min_tce", "energy_max_tce", "platform_indicator", "evidence", "source", "grade")
    out = []
    for i, r in _rows(path, cols):
        unit = r["unit"]
        try:
            out.append(ScoredIndicator(
                indicator_id=r["indicator_id"], group=r["group"], name_zh=r["name_zh"], name_en=r["name_en"],
                unit="fraction" if unit == "%" else unit, direction=Direction(r["direction"]),
                weight=_num(r, "weight", path, i) or 0.0,
                baseline=_pct(_num(r, "baseline", path, i, optional=True), unit),
                leading=_pct(_num(r, "leading", path, i, optional=True), unit),
                source=r["source"], grade=r["grade"],
                energy_min_tce=_num(r, "energy_min_tce", path, i, optional=True),
                energy_max_tce=_num(r, "energy_max_tce", path, i, optional=True),
                platform_indicator=r["platform_indicator"],
                evidence=tuple(e.strip() for e in r["evidence"].split(";") if e.strip()),
            ))
        except ValueError:
            raise FactorDataError(f"direction must be lower_is_better or higher_is_better in {path.name}",
                                  message_zh="指标方向必须为 lower_is_better 或 higher_is_better",
                                  location=Location(file=str(path), row=i, column="direction")) from None
        except ParkcarbonError as exc:
            if isinstance(exc, FactorDataError):
                raise
            raise _wrap(path, i, exc) from exc
    return tuple(out)


def target_set_ids(path: Path | None = None) -> tuple[str, ...]:
    """The target set ids in the file (e.g. ``carbon_peak_pilot``, ``zero_carbon_park``)."""
    p = path or data_file("evaluation/target_sets.csv")
    return tuple(dict.fromkeys(r["set_id"] for _, r in _rows(p, ("set_id",))))


def load_target_set(
    set_id: str, *, entity_id: str = "park", target_year: int | None = None, base_year: int | None = None,
    path: Path | None = None,
) -> tuple[Target, ...]:
    """Build the targets of a set; rows without a milestone year take ``target_year``.

    ``base_year`` overrides the file's base year (e.g. a park whose pilot started in 2021).
    """
    p = path or data_file("evaluation/target_sets.csv")
    cols = ("set_id", "target_key", "indicator", "base_year", "milestone_year", "value", "unit", "reduction_frac",
            "reference_year", "source", "grade", "note")
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, r in _rows(p, cols):
        if r["set_id"] == set_id:
            groups.setdefault(r["target_key"], []).append((i, r))
    if not groups:
        raise FactorNotFoundError(f"no target set {set_id!r}", message_zh=f"无目标集 {set_id!r}",
                                  hint=f"known sets: {', '.join(target_set_ids(p))}", location=Location(file=str(p)))
    out = []
    for key, rows in groups.items():
        milestones = []
        first_line, first = rows[0]
        by = base_year if base_year is not None else int(_num(first, "base_year", p, first_line) or 0)
        for line, r in rows:
            my = _num(r, "milestone_year", p, line, optional=True)
            if my is None:
                if target_year is None:
                    raise FactorDataError(f"target set {set_id}: {key} has no milestone year; pass target_year",
                                          message_zh=f"目标集 {set_id}：{key} 无节点年份，请指定目标年",
                                          location=Location(file=str(p), row=line, column="milestone_year"))
                my = float(target_year)
            unit_pct = r["unit"] == "%"
            val = _num(r, "value", p, line, optional=True)
            ref = _num(r, "reference_year", p, line, optional=True)
            try:
                milestones.append(Milestone(
                    year=int(my), value=(val / 100.0 if unit_pct and val is not None else val),
                    reduction_frac=_num(r, "reduction_frac", p, line, optional=True),
                    reference_year=None if ref is None else int(ref),
                ))
            except ParkcarbonError as exc:
                raise _wrap(p, line, exc) from exc
        try:
            out.append(Target(
                target_id=f"{set_id}:{key}", indicator=first["indicator"], entity_id=entity_id, base_year=by,
                milestones=tuple(sorted(milestones, key=lambda m: m.year)),
                source="; ".join(dict.fromkeys(r["source"] for _, r in rows)),
                grade="/".join(dict.fromkeys(r["grade"] for _, r in rows)),
            ))
        except ParkcarbonError as exc:
            raise _wrap(p, first_line, exc) from exc
    return tuple(out)


def load_key_unit_thresholds(path: Path | None = None, *, local: bool = True) -> KeyUnitThresholds:
    """重点用能单位 thresholds; ``local=False`` drops the (UNVERIFIED) local tier."""
    p = path or data_file("evaluation/key_unit_thresholds.csv")
    vals: dict[str, float] = {}
    src: list[str] = []
    for i, r in _rows(p, ("item", "value_tce", "source", "grade")):
        vals[r["item"]] = _num(r, "value_tce", p, i) or 0.0
        src.append(f"{r['item']}: {r['grade']}")
    for k in ("key", "designated"):
        if k not in vals:
            raise FactorDataError(f"key-unit thresholds lack {k!r}", message_zh=f"重点用能单位阈值缺少 {k!r}",
                                  location=Location(file=str(p)))
    return KeyUnitThresholds(vals["key"], vals["designated"], vals.get("local") if local else None,
                             source=f"{p.name} ({', '.join(src)})")


def load_warning_thresholds(scheme: str = "default", path: Path | None = None) -> WarningThresholds:
    """A warning-grade scheme (see :mod:`parkcarbon.core.budget` for the default and its basis)."""
    p = path or data_file("evaluation/warning_thresholds.csv")
    cols = ("scheme", "yellow_frac", "orange_frac", "red_frac", "basis", "source", "grade")
    for i, r in _rows(p, cols):
        if r["scheme"] == scheme:
            try:
                return WarningThresholds(
                    yellow_frac=_num(r, "yellow_frac", p, i) or 0.0, orange_frac=_num(r, "orange_frac", p, i) or 0.0,
                    red_frac=_num(r, "red_frac", p, i) or 0.0, basis=r["basis"],
                    source=f"{r['source']} [{r['grade']}]",
                )
            except ParkcarbonError as exc:
                raise _wrap(p, i, exc) from exc
    raise FactorNotFoundError(f"no warning scheme {scheme!r}", message_zh=f"无预警方案 {scheme!r}",
                              location=Location(file=str(p), value=scheme))


def load_measure_catalogue(path: Path | None = None) -> tuple[MeasureDefinition, ...]:
    """The measure catalogue (节能降碳措施目录)."""
    p = path or data_file("measures/measure_catalogue.csv")
    cols = ("measure_id", "name_en", "name_zh", "category", "size_unit", "carrier_saved", "baseline_per_size",
            "saving_frac", "carrier_added", "added_per_size", "reduces_energy", "saves_energy_cost",
            "capex_cny_per_size", "om_cny_per_size_yr", "lifetime_yr", "source", "grade", "note")
    out = []
    seen: set[str] = set()
    for i, r in _rows(p, cols):
        if r["measure_id"] in seen:
            raise FactorDataError(f"duplicate measure id {r['measure_id']}", message_zh=f"措施编号重复 {r['measure_id']}",
                                  location=Location(file=str(p), row=i, column="measure_id"))
        seen.add(r["measure_id"])
        try:
            out.append(MeasureDefinition(
                measure_id=r["measure_id"], name_en=r["name_en"], name_zh=r["name_zh"], category=r["category"],
                size_unit=r["size_unit"], carrier_saved=r["carrier_saved"],
                baseline_per_size=_num(r, "baseline_per_size", p, i) or 0.0,
                saving_frac=_num(r, "saving_frac", p, i) or 0.0,
                capex_cny_per_size=_num(r, "capex_cny_per_size", p, i) or 0.0,
                om_cny_per_size_yr=_num(r, "om_cny_per_size_yr", p, i) or 0.0,
                lifetime_yr=_num(r, "lifetime_yr", p, i) or 0.0,
                source=r["source"], grade=r["grade"], carrier_added=r["carrier_added"] or None,
                added_per_size=_num(r, "added_per_size", p, i, optional=True) or 0.0,
                reduces_energy=_bool(r, "reduces_energy", p, i), saves_energy_cost=_bool(r, "saves_energy_cost", p, i),
                note=r["note"],
            ))
        except ParkcarbonError as exc:
            if isinstance(exc, FactorDataError):
                raise
            raise _wrap(p, i, exc) from exc
    return tuple(out)
