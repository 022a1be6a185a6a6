"""Build report documents (:class:`~parkcarbon.reports.model.Report`) from accounting runs.

The park inventory report (园区能源与碳排放清单报告) has: overview; yearly totals and
indicators; energy structure; targets; the enterprise list with key energy-consuming units;
PV and green power; factors with their sources and any declared fallback; data quality; and a
calculation trace sample. Every number comes from the :class:`AccountingRun` objects — the
same objects the CLI prints and the API serves — so formats cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from parkcarbon.core.activity import Flow
from parkcarbon.core.carriers import carrier
from parkcarbon.core.inventory import Inventory, InventoryTotals, ParkInventory
from parkcarbon.core.measures import KeyUnitClass, classify_key_unit
from parkcarbon.core.trace import FactorRef
from parkcarbon.factors.evaluation_data import load_key_unit_thresholds
from parkcarbon.reports.model import Cell, Chart, Column, Report, Section, Table
from parkcarbon.services.accounting import AccountingRun

__all__ = [
    "ParkReportInputs",
    "TargetRow",
    "build_park_report",
    "indicator_value",
    "key_unit_class",
    "onsite_generation_kwh",
]


@dataclass(frozen=True)
class TargetRow:
    """One target checked for one year, ready for a report table."""

    name_zh: str
    name_en: str
    unit: str
    year: int
    base_value: float | None
    target_value: float | None
    actual_value: float | None
    met: bool | None
    source: str


@dataclass(frozen=True)
class ParkReportInputs:
    runs: Sequence[AccountingRun]
    targets: Sequence[TargetRow] = ()
    pv_capacity_kwp: float | None = None
    storage_energy_kwh: float | None = None
    warnings_rows: Sequence[dict[str, str | float | None]] = ()


def key_unit_class(energy_tce: float | None, year: int) -> str:
    """Report label of the 重点用能单位 class by annual comprehensive energy consumption [tce].

    The classification is :func:`parkcarbon.core.measures.classify_key_unit` with the shipped
    thresholds (key ≥ 10 000, designated ≥ 5 000 tce; the local tier is not labelled here); an
    incomplete annual total (``None``) is labelled as such, never classified as small.
    """
    th = load_key_unit_thresholds(local=False)
    cls = classify_key_unit("", year, energy_tce, th).classification
    return {
        KeyUnitClass.KEY: f"重点用能单位 key unit (≥{th.key_tce:,.0f} tce)",
        KeyUnitClass.DESIGNATED: f"指定重点用能单位 designated (≥{th.designated_tce:,.0f} tce)",
        KeyUnitClass.UNKNOWN: "数据不全 incomplete",
    }.get(cls, "")


def indicator_value(inv: Inventory | ParkInventory, name: str) -> float | None:
    """The value of indicator ``name`` of an inventory, ``None`` when absent or not computable."""
    try:
        return inv.indicator(name).value
    except KeyError:
        return None


def _num(x: Cell) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _yoy(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev is None or prev == 0:
        return None
    return 100.0 * (cur / prev - 1.0)


def _yearly_section(runs: Sequence[AccountingRun]) -> Section:
    cols = [
        Column("year", "年份", "Year", decimals=0, grouping=False),
        Column("energy_tce", "综合能耗", "Energy consumption", "tce", 0),
        Column("yoy_energy_pct", "能耗同比", "Energy YoY", "%", 1),
        Column("non_energy_tce", "非能源用途", "Non-energy use", "tce", 0),
        Column("scope1_tco2", "直接排放", "Scope 1", "tCO2", 0),
        Column("scope2_loc_tco2", "间接排放(基于位置)", "Scope 2 location", "tCO2", 0),
        Column("scope2_mkt_tco2", "间接排放(基于市场)", "Scope 2 market", "tCO2", 0),
        Column("total_loc_tco2", "排放总量(位置)", "Total location", "tCO2", 0),
        Column("total_mkt_tco2", "排放总量(市场)", "Total market", "tCO2", 0),
        Column("added_value", "工业增加值(可比价)", "Added value (comparable)", "10k CNY", 0),
        Column("energy_intensity", "单位增加值能耗", "Energy intensity", "tce/10k CNY", 4),
        Column("carbon_intensity", "单位增加值碳排放", "Carbon intensity (location)", "tCO2/10k CNY", 4),
        Column("carbon_per_energy_loc", "单位能耗碳排放(位置)", "Carbon per energy (location)", "tCO2/tce", 3),
        Column("carbon_per_energy_mkt", "单位能耗碳排放(市场)", "Carbon per energy (market)", "tCO2/tce", 3),
        Column("non_fossil_pct", "非化石能源占比", "Non-fossil share", "%", 2),
        Column("clean_pct", "清洁能源占比", "Clean energy share", "%", 2),
        Column("complete", "数据完整", "Complete", decimals=0),
    ]
    rows: list[dict[str, Cell]] = []
    prev: InventoryTotals | None = None
    for run in runs:
        inv = run.inventory
        t = inv.totals
        rows.append({
            "year": run.year,
            "energy_tce": t.energy_tce,
            "yoy_energy_pct": _yoy(t.energy_tce, prev.energy_tce if prev else None),
            "non_energy_tce": t.non_energy_use_tce,
            "scope1_tco2": t.scope1_tco2,
            "scope2_loc_tco2": t.scope2_location_tco2,
            "scope2_mkt_tco2": t.scope2_market_tco2,
            "total_loc_tco2": t.total_location_tco2,
            "total_mkt_tco2": t.total_market_tco2,
            "added_value": inv.economic.comparable_added_value_10k_cny,
            "energy_intensity": indicator_value(inv, "energy_intensity_added_value"),
            "carbon_intensity": indicator_value(inv, "carbon_intensity_added_value_location"),
            "carbon_per_energy_loc": indicator_value(inv, "carbon_per_energy_location"),
            "carbon_per_energy_mkt": indicator_value(inv, "carbon_per_energy_market"),
            "non_fossil_pct": _pct(indicator_value(inv, "non_fossil_share")),
            "clean_pct": _pct(indicator_value(inv, "clean_share")),
            "complete": "是 yes" if t.complete else "否 partial",
        })
        prev = t
    years = [str(r.year) for r in runs]
    charts = [
        Chart("综合能耗", "Energy consumption", "bar", years, {"tce": [r.inventory.totals.energy_tce for r in runs]},
              "tce"),
        Chart("二氧化碳排放", "CO2 emissions", "line", years, {
            "location-based 基于位置": [r.inventory.totals.total_location_tco2 for r in runs],
            "market-based 基于市场": [r.inventory.totals.total_market_tco2 for r in runs],
        }, "tCO2"),
    ]
    partial = [str(r.year) for r in runs if not r.inventory.totals.complete]
    note = ("Totals of years " + ", ".join(partial) + " are partial: some records are missing (see Data quality). "
            "Ratios of partial totals are not shown.") if partial else ""
    return Section("年度总量与强度", "Yearly totals and indicators",
                   [note] if note else [],
                   [Table("园区年度能源与排放", "Park energy and emissions by year", cols, rows, sheet_name="Yearly")],
                   charts)


def _structure_section(runs: Sequence[AccountingRun]) -> Section:
    by_year = [r.inventory for r in runs]
    carriers = sorted({ln.carrier for inv in by_year for e in inv.enterprises for ln in e.energy.lines if ln.counted})
    per_year: list[dict[str, float]] = []
    for inv in by_year:
        acc: dict[str, float] = dict.fromkeys(carriers, 0.0)
        for e in inv.enterprises:
            for c, v in e.energy.by_carrier().items():
                if v is not None:
                    acc[c] = acc.get(c, 0.0) + v
        per_year.append(acc)
    last = per_year[-1]
    total = math.fsum(last.values())
    rows = [{"carrier": f"{carrier(c).name_zh} {carrier(c).name_en}", "energy_tce": last[c],
             "share_pct": 100.0 * last[c] / total if total > 0 else None} for c in carriers]
    cols = [Column("carrier", "能源品种", "Carrier", decimals=0), Column("energy_tce", "折标煤", "Energy", "tce", 0),
            Column("share_pct", "占比", "Share", "%", 2)]
    chart = Chart("能源消费结构", "Energy structure", "stacked_bar", [str(r.year) for r in runs],
                  {carrier(c).name_zh: [py[c] for py in per_year] for c in carriers}, "tce")
    basis = runs[-1].inventory.options.basis.value
    return Section("能源消费结构", "Energy structure",
                   [f"Electricity converted at the {basis} basis (当量值 0.1229 kgce/kWh unless stated)."],
                   [Table(f"{runs[-1].year} 年能源消费结构", f"Energy structure {runs[-1].year}", cols, rows,
                          sheet_name="Structure")], [chart])


def _targets_section(targets: Sequence[TargetRow]) -> Section:
    cols = [Column("name", "目标", "Target", decimals=0), Column("year", "年份", "Year", decimals=0, grouping=False),
            Column("unit", "单位", "Unit", decimals=0),
            Column("base", "基准值", "Base value", decimals=4), Column("target", "目标值", "Target value", decimals=4),
            Column("actual", "实际值", "Actual", decimals=4), Column("status", "状态", "Status", decimals=0),
            Column("source", "依据", "Basis", decimals=0)]
    rows = [{"name": f"{t.name_zh} {t.name_en}", "year": t.year, "unit": t.unit, "base": t.base_value,
             "target": t.target_value, "actual": t.actual_value,
             "status": "—" if t.met is None else ("达标 met" if t.met else "未达标 not met"), "source": t.source}
            for t in targets]
    return Section("目标进展", "Targets", [], [Table("园区目标", "Park targets", cols, rows, sheet_name="Targets")])


def _enterprise_section(runs: Sequence[AccountingRun]) -> Section:
    run = runs[-1]
    prev = {e.enterprise_id: e for e in runs[-2].inventory.enterprises} if len(runs) > 1 else {}
    cols = [Column("id", "编号", "ID", decimals=0), Column("name", "企业", "Enterprise", decimals=0),
            Column("industry", "行业代码", "GB/T 4754", decimals=0),
            Column("energy_tce", "综合能耗", "Energy", "tce", 1), Column("yoy_pct", "同比", "YoY", "%", 1),
            Column("key_unit", "重点用能单位", "Key energy-consuming unit", decimals=0),
            Column("total_loc", "排放(位置)", "Emissions location", "tCO2", 1),
            Column("total_mkt", "排放(市场)", "Emissions market", "tCO2", 1),
            Column("intensity", "单位增加值能耗", "Energy intensity", "tce/10k CNY", 4),
            Column("green_kwh", "绿电", "Green electricity", "kWh", 0),
            Column("complete", "数据完整", "Complete", decimals=0)]
    ents = sorted(run.inventory.enterprises, key=lambda e: -e.totals.energy_tce)
    rows: list[dict[str, Cell]] = []
    for e in ents:
        p = prev.get(e.enterprise_id)
        energy = e.totals.energy_tce if e.totals.complete else None
        rows.append({
            "id": e.enterprise_id, "name": run.enterprise_names.get(e.enterprise_id, ""),
            "industry": run.enterprise_industries.get(e.enterprise_id, ""),
            "energy_tce": e.totals.energy_tce,
            "yoy_pct": _yoy(e.totals.energy_tce, p.totals.energy_tce if p else None),
            "key_unit": key_unit_class(energy, run.year),
            "total_loc": e.totals.total_location_tco2, "total_mkt": e.totals.total_market_tco2,
            "intensity": indicator_value(e, "energy_intensity_added_value"),
            "green_kwh": e.totals.green_electricity_kwh,
            "complete": "是 yes" if e.totals.complete else "否 partial",
        })
    top = ents[:10]
    chart = Chart("能耗前十企业", "Top 10 enterprises by energy", "bar", [e.enterprise_id for e in top],
                  {"tce": [e.totals.energy_tce for e in top]}, "tce")
    n_key = sum(1 for r in rows if str(r["key_unit"]).startswith("重点"))
    return Section("企业清单", "Enterprises",
                   [f"{len(rows)} enterprises; {n_key} key energy-consuming units (≥10,000 tce) in {run.year}. "
                    "The park total is the exact sum of these rows."],
                   [Table(f"{run.year} 年企业能耗与排放", f"Enterprises {run.year}", cols, rows,
                          sheet_name="Enterprises")], [chart])


def _green_section(inputs: ParkReportInputs) -> Section:
    runs = inputs.runs
    cols = [Column("year", "年份", "Year", decimals=0, grouping=False),
            Column("onsite_kwh", "自发光伏电量", "On-site generation", "kWh", 0),
            Column("purchased_kwh", "外购电量", "Purchased electricity", "kWh", 0),
            Column("green_kwh", "绿电(合同+绿证+直连)", "Green electricity credited", "kWh", 0),
            Column("green_pct", "绿电占外购电比例", "Green share of purchased", "%", 2),
            Column("excess_kwh", "超额申领(未计入)", "Excess claims (not credited)", "kWh", 0)]
    rows: list[dict[str, Cell]] = []
    for r in runs:
        onsite = onsite_generation_kwh(r.inventory.enterprises)
        t = r.inventory.totals
        rows.append({"year": r.year, "onsite_kwh": onsite, "purchased_kwh": t.purchased_electricity_kwh,
                     "green_kwh": t.green_electricity_kwh,
                     "green_pct": 100 * t.green_electricity_kwh / t.purchased_electricity_kwh
                     if t.purchased_electricity_kwh else None,
                     "excess_kwh": t.excess_claims_kwh})
    paras = []
    if inputs.pv_capacity_kwp is not None:
        paras.append(f"Rooftop PV installed: {inputs.pv_capacity_kwp / 1000:,.1f} MWp; "
                     f"storage: {(inputs.storage_energy_kwh or 0) / 1000:,.1f} MWh.")
    paras.append(f"Market-based method: {runs[-1].inventory.options.market_method.rule.value} "
                 f"(matching {runs[-1].inventory.options.market_method.matching.value}).")
    return Section("光伏与绿电", "PV and green power", paras,
                   [Table("光伏与绿电", "PV and green electricity", cols, rows, sheet_name="Green power")],
                   [Chart("绿电与光伏", "Green electricity and PV", "bar", [str(r["year"]) for r in rows],
                          {"PV 光伏": [_num(r["onsite_kwh"]) for r in rows],
                           "green 绿电": [_num(r["green_kwh"]) for r in rows]}, "kWh")])


def onsite_generation_kwh(invs: Sequence[Inventory]) -> float | None:
    """On-site generation (e.g. rooftop PV) of the inventories [kWh]; ``None`` if any is missing."""
    values = [ln.quantity(Flow.ONSITE_GENERATED) for e in invs for ln in e.energy.lines
              if ln.carrier == "electricity"]
    return None if any(v is None for v in values) else math.fsum(v for v in values if v is not None)


def _factor_rows(run: AccountingRun) -> list[dict[str, str | float | None]]:
    f = run.factors
    refs: list[tuple[str, FactorRef | None]] = [
        ("grid EF location 电网排放因子", f.grid_ef_location),
        ("grid EF residual 扣除市场化非化石", f.grid_ef_residual),
        ("grid EF fossil 化石能源电力", f.grid_ef_fossil),
        ("heat EF 热力", f.heat_ef),
        ("steam enthalpy 蒸汽热焓", f.steam_enthalpy),
    ]
    refs += [(f"coal coefficient {k} 折标系数", v) for k, v in sorted(f.coal_coefficients.items())
             if k in {"electricity", "natural_gas", "raw_coal", "diesel", "gasoline", "steam", "heat"}]
    return [{"year": run.year, "item": name, "value": ref.value, "unit": ref.unit, "region": ref.region,
             "data_year": ref.year, "grade": ref.grade, "source": ref.source, "factor_id": ref.factor_id,
             "fallback": ref.fallback_note or ""}
            for name, ref in refs if ref is not None]


def _factors_section(runs: Sequence[AccountingRun]) -> Section:
    cols = [Column("year", "核算年", "Year", decimals=0, grouping=False), Column("item", "因子", "Factor", decimals=0),
            Column("value", "数值", "Value", decimals=7), Column("unit", "单位", "Unit", decimals=0),
            Column("region", "区域", "Region", decimals=0), Column("data_year", "数据年", "Data year", decimals=0, grouping=False),
            Column("grade", "证据等级", "Grade", decimals=0), Column("source", "来源", "Source", decimals=0),
            Column("factor_id", "因子编号", "Factor id", decimals=0),
            Column("fallback", "回退说明", "Fallback", decimals=0)]
    rows = [row for r in runs for row in _factor_rows(r)]
    notes = sorted({n for r in runs for n in r.factor_notes})
    paras = [f"Fallback policy declared for this report: {runs[-1].policy.value}."]
    paras += [f"⚠ {n}" for n in notes]
    return Section("排放因子与来源", "Factors and sources", paras,
                   [Table("使用的因子", "Factors used", cols, rows, sheet_name="Factors")])


def _quality_section(runs: Sequence[AccountingRun]) -> Section:
    cols = [Column("year", "年份", "Year", decimals=0, grouping=False), Column("records", "记录数", "Records", decimals=0),
            Column("missing", "缺失记录", "Missing records", decimals=0),
            Column("covered_pct", "覆盖率", "Covered", "%", 2),
            Column("absent", "无数据企业月", "Enterprise-months without records", decimals=0),
            Column("missing_ids", "缺失记录编号", "Missing ids", decimals=0)]
    rows = []
    for r in runs:
        cov = r.inventory.coverage
        absent = [f"{e.enterprise_id} {m}" for e in r.inventory.enterprises for m in e.months_without_records]
        rows.append({"year": r.year, "records": len(cov.records), "missing": len(cov.missing_records),
                     "covered_pct": _pct(cov.covered_frac), "absent": len(absent),
                     "missing_ids": ", ".join([*cov.missing_records[:10], *absent[:10]])})
    return Section("数据质量", "Data quality",
                   ["Missing values are never counted as zero: a total with a missing record, or with an "
                    "enterprise-month that has no record at all, is marked partial."],
                   [Table("数据覆盖", "Coverage", cols, rows, sheet_name="Data quality")])


def _trace_section(runs: Sequence[AccountingRun], limit: int = 40) -> Section:
    run = runs[-1]
    ent = max(run.inventory.enterprises, key=lambda e: e.totals.energy_tce)
    cols = [Column("method", "方法", "Method", decimals=0), Column("result", "结果", "Result", decimals=4),
            Column("unit", "单位", "Unit", decimals=0), Column("note", "说明", "Note", decimals=0),
            Column("records", "活动数据记录", "Activity records", decimals=0),
            Column("factors", "因子(来源)", "Factors (source)", decimals=0)]
    rows = []
    for step in ent.trace[:limit]:
        rows.append({
            "method": step.method, "result": None if math.isnan(step.result) else step.result,
            "unit": step.result_unit, "note": step.note,
            "records": ", ".join(step.records[:3]) + (" …" if len(step.records) > 3 else ""),
            "factors": "; ".join(f"{f.key}={f.value:g} {f.unit} [{f.grade}] {f.source[:60]}" for f in step.factors),
        })
    return Section("计算追溯", "Calculation trace",
                   [f"First {len(rows)} of {len(ent.trace)} trace steps of {ent.enterprise_id} "
                    f"({run.enterprise_names.get(ent.enterprise_id, '')}), {run.year}. Each number points to its "
                    "activity records, factor rows (with source and grade) and method."],
                   [Table("计算追溯样例", "Trace sample", cols, rows, sheet_name="Trace")])


def build_park_report(inputs: ParkReportInputs) -> Report:
    """The park inventory report for the runs given (ordered by year)."""
    runs = sorted(inputs.runs, key=lambda r: r.year)
    last = runs[-1]
    t = last.inventory.totals
    overview = Section("概况", "Overview", [
        f"{last.park_name} ({last.province}): {len(last.inventory.enterprises)} enterprises, "
        f"inventories {runs[0].year}–{last.year}.",
        f"{last.year}: comprehensive energy consumption {t.energy_tce:,.0f} tce; CO2 {t.total_location_tco2:,.0f} "
        f"tCO2 location-based, {t.total_market_tco2:,.0f} tCO2 market-based.",
        "Methods: GB/T 2589-2020 (综合能耗, 当量值), GB/T 32150-2015 (scope 1 and 2), scope 2 dual reporting "
        "(location- and market-based).",
    ])
    sections = [overview, _yearly_section(runs), _structure_section(runs)]
    if inputs.targets:
        sections.append(_targets_section(inputs.targets))
    sections += [_enterprise_section(runs), _green_section(inputs), _factors_section(runs),
                 _quality_section(runs), _trace_section(runs)]
    return Report(
        title_zh=f"{last.park_name} 能源与碳排放清单报告",
        title_en="Park energy and GHG inventory report",
        subtitle=f"{runs[0].year}–{last.year} · {last.province} · parkcarbon",
        generated_at=datetime.now(UTC),
        sections=sections,
        meta={"园区 Park": last.park_name, "省份 Province": last.province,
              "因子回退策略 Factor fallback policy": last.policy.value,
              "市场法 Market method": last.inventory.options.market_method.rule.value},
    )
