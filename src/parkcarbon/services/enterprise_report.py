"""Enterprise GHG report (企业温室气体排放报告) and energy statistics report (能源统计报表).

The enterprise report follows the structure of a GB/T 32150-2015 report (工业企业温室气体排放
核算和报告通则, clause 8 "报告内容" and annex B):

1. 报告主体基本信息 — reporting entity (clause 8.1);
2. 核算边界 — organisational boundary and period (clause 5, 8.2);
3. 排放源识别 — emission sources and categories (clause 6.2);
4. 活动数据 — activity data with their sources and quality (clause 6.4, 8.3);
5. 排放因子 — factors with their sources and evidence grade (clause 6.5, 8.3);
6. 排放量 — results by source category, scope 1 and scope 2 (location- and market-based),
   month by month (clause 6.6, 8.4);
7. 数据质量管理 — coverage, missing records, factor fallbacks (clause 9).

The energy statistics report (能源消费统计) lists, per enterprise and carrier, the physical
quantities, the conversion coefficient and the comprehensive energy consumption (GB/T 2589-2020).

Both are :class:`~parkcarbon.reports.model.Report` documents built from the same
:class:`~parkcarbon.services.accounting.AccountingRun` the park report, the dashboard and the API
use, so XLSX, HTML, PDF and the pages show identical numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from parkcarbon.core.activity import ActivityRecord, Flow
from parkcarbon.core.carriers import carrier
from parkcarbon.core.energy import EnergyLine
from parkcarbon.core.ghg import SourceCategory
from parkcarbon.core.inventory import Inventory
from parkcarbon.core.trace import FactorRef
from parkcarbon.errors import NotFoundError
from parkcarbon.factors import FallbackPolicy
from parkcarbon.reports.model import Cell, Chart, Column, Report, Section, Table
from parkcarbon.services.accounting import AccountingRun, FactorConfig, account_enterprise_year
from parkcarbon.services.reporting import key_unit_class
from parkcarbon.storage import Store

__all__ = [
    "CATEGORY_NAMES",
    "EnterpriseInfo",
    "EnterpriseRun",
    "account_enterprise",
    "build_energy_statistics_report",
    "build_enterprise_report",
    "enterprise_inventory_of",
]

CATEGORY_NAMES: dict[SourceCategory, tuple[str, str]] = {
    SourceCategory.FUEL_COMBUSTION: ("化石燃料燃烧排放", "Fossil fuel combustion"),
    SourceCategory.PROCESS: ("工业生产过程排放", "Industrial processes"),
    SourceCategory.PURCHASED_ELECTRICITY: ("净购入电力隐含排放", "Purchased electricity"),
    SourceCategory.PURCHASED_HEAT: ("净购入热力隐含排放", "Purchased heat"),
    SourceCategory.EXPORTED_ELECTRICITY: ("输出电力(扣减)", "Exported electricity (deducted)"),
    SourceCategory.EXPORTED_HEAT: ("输出热力(扣减)", "Exported heat (deducted)"),
    SourceCategory.BIOMASS_COMBUSTION: ("生物质燃烧(单独报告)", "Biomass combustion (memo)"),
}
"""GB/T 32150-2015 clause 6.2 source categories, Chinese and English."""

_FLOW_NAMES = {Flow.CONSUMED: "消费量 consumed", Flow.PURCHASED: "购入量 purchased",
               Flow.ONSITE_GENERATED: "自产量 on-site generated", Flow.EXPORTED: "外供量 exported",
               Flow.NON_ENERGY_USE: "非能源用途 non-energy use"}


@dataclass(frozen=True)
class EnterpriseInfo:
    """Registry data of the reporting entity (报告主体) as stored (``None`` = not registered)."""

    credit_code: str | None = None
    province: str | None = None
    green_factory_level: str | None = None
    name_en: str | None = None


@dataclass(frozen=True)
class EnterpriseRun:
    """One enterprise's inventory for one year with what its report needs to say about it."""

    enterprise_id: str
    name: str
    industry_code: str
    park_id: str
    park_name: str
    province: str
    year: int
    inventory: Inventory
    policy: FallbackPolicy
    factor_notes: tuple[str, ...]
    info: EnterpriseInfo = EnterpriseInfo()

    @staticmethod
    def from_park_run(run: AccountingRun, enterprise_id: str, info: EnterpriseInfo | None = None) -> EnterpriseRun:
        """The enterprise's part of a park run (the numbers the park report adds up)."""
        return EnterpriseRun(enterprise_id, run.enterprise_names.get(enterprise_id, ""),
                             run.enterprise_industries.get(enterprise_id, ""), run.park_id, run.park_name,
                             run.province, run.year, enterprise_inventory_of(run, enterprise_id), run.policy,
                             tuple(run.factor_notes), info or EnterpriseInfo())


def account_enterprise(store: Store, enterprise_id: str, year: int, config: FactorConfig | None = None,
                       *, tenant_id: str | None = None) -> EnterpriseRun:
    """Account one enterprise for ``year`` exactly as the API's ``/enterprises/{id}/inventory``
    (:func:`~parkcarbon.services.accounting.account_enterprise_year` with the same
    :class:`~parkcarbon.services.accounting.FactorConfig`), with its registry data."""
    cfg = config or FactorConfig()
    inv = account_enterprise_year(store, enterprise_id, year, cfg, tenant_id=tenant_id)
    with store.reader() as repo:
        ent = repo.get_enterprise(enterprise_id, tenant_id=tenant_id)
        park = repo.get_park(ent.park_id) if ent.park_id else None
        info = EnterpriseInfo(credit_code=ent.credit_code, province=ent.province,
                              green_factory_level=ent.green_factory_level, name_en=ent.name_en)
        name, industry, park_id = ent.name, ent.industry_code or "", ent.park_id or ""
        park_name = park.name if park is not None else ""
        province = ent.province or (park.province if park is not None else "") or ""
    notes = cfg.factors(province, year).warnings
    return EnterpriseRun(enterprise_id, name, industry, park_id, park_name, province, year, inv, cfg.policy,
                         tuple(notes), info)


def enterprise_inventory_of(run: AccountingRun, enterprise_id: str) -> Inventory:
    """The enterprise's inventory inside the park run (the numbers the park report adds up)."""
    inv = next((e for e in run.inventory.enterprises if e.enterprise_id == enterprise_id), None)
    if inv is None:
        raise NotFoundError(f"enterprise {enterprise_id} has no inventory in {run.year}",
                            message_zh=f"企业 {enterprise_id} 在 {run.year} 年没有清单",
                            hint="check the id and year", hint_zh="请检查企业编号和年份")
    return inv


def _fsum_known(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else math.fsum(v for v in values if v is not None)


def _entity_section(run: EnterpriseRun) -> Section:
    inv, info, eid = run.inventory, run.info, run.enterprise_id
    cols = [Column("item", "项目", "Item", decimals=0), Column("value", "内容", "Value", decimals=0)]
    rows: list[dict[str, Cell]] = [
        {"item": "企业名称 Name", "value": run.name},
        {"item": "英文名称 English name", "value": info.name_en},
        {"item": "企业编号 Enterprise id", "value": eid},
        {"item": "统一社会信用代码 Unified social credit code", "value": info.credit_code},
        {"item": "行业代码 GB/T 4754-2017", "value": run.industry_code},
        {"item": "所在园区 Park", "value": run.park_name},
        {"item": "省份 Province", "value": info.province or run.province},
        {"item": "绿色工厂 Green factory", "value": info.green_factory_level},
        {"item": "重点用能单位 Key energy-consuming unit",
         "value": key_unit_class(inv.totals.energy_tce if inv.totals.complete else None, run.year) or "否 no"},
    ]
    return Section("报告主体基本信息", "Reporting entity", [],
                   [Table("报告主体", "Reporting entity", cols, rows, sheet_name="Entity")])


def _boundary_section(run: EnterpriseRun, inv: Inventory) -> Section:
    months = sorted(inv.months) if inv.months else []
    period = f"{months[0]} – {months[-1]}" if months else str(run.year)
    opts = inv.options
    return Section("核算边界", "Boundary", [
        f"核算期 Reporting period: {period} ({len(months)} months).",
        "组织边界 Organisational boundary: the legal entity's facilities in the park, operational control "
        "(GB/T 32150-2015 clause 5).",
        "温室气体种类 Gases: CO2 (fossil fuel combustion, carbonate processes, purchased electricity and heat).",
        f"方法 Methods: GB/T 32150-2015; scope 2 location-based and market-based "
        f"({opts.market_method.rule.value}); energy GB/T 2589-2020 ({opts.basis.value}).",
    ])


def _sources_section(inv: Inventory) -> Section:
    by_cat: dict[SourceCategory, list[float | None]] = defaultdict(list)
    keys: dict[SourceCategory, set[str]] = defaultdict(set)
    for ln in inv.ghg.lines:
        by_cat[ln.category].append(ln.emissions_tco2)
        keys[ln.category].add(ln.source_key)
    cols = [Column("category", "排放类别", "Source category", decimals=0),
            Column("scope", "范围", "Scope", decimals=0),
            Column("sources", "排放源", "Sources", decimals=0),
            Column("tco2", "排放量", "Emissions", "tCO2", 2)]
    rows: list[dict[str, Cell]] = []
    for cat in SourceCategory:
        if cat not in by_cat:
            continue
        zh, en = CATEGORY_NAMES[cat]
        rows.append({"category": f"{zh} {en}", "scope": cat.scope if cat.scope is not None else "—",
                     "sources": ", ".join(sorted(keys[cat])), "tco2": _fsum_known(by_cat[cat])})
    return Section("排放源识别", "Emission sources", [
        "Emission sources identified from the activity ledger (GB/T 32150-2015 clause 6.2); a category "
        "with a missing record shows '—' instead of a partial sum."],
        [Table("排放源", "Emission sources", cols, rows, sheet_name="Sources")])


def _activity_section(inv: Inventory, ledger: Sequence[ActivityRecord]) -> Section:
    agg: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    qualities: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in ledger:
        key = (r.carrier, r.flow.value)
        agg[key].append(r.quantity)
        sources[key].add(r.source)
        qualities[key].add(r.quality.value)
    cols = [Column("carrier", "能源/物料", "Carrier", decimals=0), Column("flow", "流向", "Flow", decimals=0),
            Column("quantity", "年度量", "Annual quantity", decimals=3), Column("unit", "单位", "Unit", decimals=0),
            Column("months", "月数", "Months", decimals=0), Column("quality", "数据质量", "Quality", decimals=0),
            Column("source", "数据来源", "Source", decimals=0)]
    rows: list[dict[str, Cell]] = []
    for (code, flow), vals in sorted(agg.items()):
        c = carrier(code)
        src = sorted(sources[(code, flow)])
        rows.append({"carrier": f"{c.name_zh} {c.name_en}", "flow": _FLOW_NAMES.get(Flow(flow), flow),
                     "quantity": _fsum_known(vals), "unit": c.unit, "months": len(vals),
                     "quality": ", ".join(sorted(qualities[(code, flow)])),
                     "source": src[0] + (f" (+{len(src) - 1})" if len(src) > 1 else "")})
    for ci in inv.ghg.lines:
        if ci.category is SourceCategory.PROCESS:
            rows.append({"carrier": f"{ci.source_key} (carbonate)", "flow": "过程 process", "quantity": ci.activity,
                         "unit": ci.activity_unit, "months": 1, "quality": "—", "source": ", ".join(ci.records[:2])})
    return Section("活动数据", "Activity data",
                   ["Activity data of the reporting year from the monthly ledger (GB/T 32150-2015 clause 6.4); "
                    "each row names its source documents and quality flag."],
                   [Table("活动数据汇总", "Activity data", cols, rows, sheet_name="Activity data")])


def _factor_rows(inv: Inventory) -> list[dict[str, Cell]]:
    seen: dict[str, FactorRef] = {}
    for ln in inv.ghg.lines:
        for f in ln.factors:
            seen.setdefault(f.factor_id, f)
    for eln in inv.energy.lines:
        if eln.coefficient is not None and eln.counted:
            seen.setdefault(eln.coefficient.factor_id, eln.coefficient)
    return [{"key": f.key, "value": f.value, "unit": f.unit, "region": f.region, "year": f.year, "grade": f.grade,
             "source": f.source, "factor_id": f.factor_id, "fallback": f.fallback_note or ""}
            for f in sorted(seen.values(), key=lambda x: (x.key, x.factor_id))]


def _factors_section(run: EnterpriseRun, inv: Inventory) -> Section:
    cols = [Column("key", "因子", "Factor", decimals=0), Column("value", "数值", "Value", decimals=7),
            Column("unit", "单位", "Unit", decimals=0), Column("region", "区域", "Region", decimals=0),
            Column("year", "数据年", "Data year", decimals=0, grouping=False), Column("grade", "证据等级", "Grade", decimals=0),
            Column("source", "来源", "Source", decimals=0), Column("factor_id", "因子编号", "Factor id", decimals=0),
            Column("fallback", "回退说明", "Fallback", decimals=0)]
    paras = [f"Factor fallback policy declared: {run.policy.value}."] + [f"⚠ {n}" for n in run.factor_notes]
    return Section("排放因子", "Emission factors", paras,
                   [Table("排放因子与来源", "Factors and sources", cols, _factor_rows(inv), sheet_name="Factors")])


def _results_section(run: EnterpriseRun, inv: Inventory) -> Section:
    t = inv.totals
    cols = [Column("item", "项目", "Item", decimals=0), Column("tco2", "排放量", "Emissions", "tCO2", 2)]
    rows: list[dict[str, Cell]] = [
        {"item": "化石燃料燃烧 Fuel combustion", "tco2": t.combustion_tco2},
        {"item": "工业生产过程 Processes", "tco2": t.process_tco2},
        {"item": "范围一 Scope 1", "tco2": t.scope1_tco2},
        {"item": "购入电力(基于位置) Purchased electricity, location", "tco2": t.purchased_electricity_location_tco2},
        {"item": "购入电力(基于市场) Purchased electricity, market", "tco2": t.purchased_electricity_market_tco2},
        {"item": "购入热力 Purchased heat", "tco2": t.purchased_heat_tco2},
        {"item": "范围二(基于位置) Scope 2 location-based", "tco2": t.scope2_location_tco2},
        {"item": "范围二(基于市场) Scope 2 market-based", "tco2": t.scope2_market_tco2},
        {"item": "输出电力热力(扣减) Exports (deducted)", "tco2": t.exported_tco2},
        {"item": "排放总量(基于位置) Total location-based", "tco2": t.total_location_tco2},
        {"item": "排放总量(基于市场) Total market-based", "tco2": t.total_market_tco2},
        {"item": "生物质燃烧CO2(单独报告) Biomass CO2 (memo)", "tco2": t.biomass_co2_tco2},
    ]
    months = [f"{run.year}-{m:02d}" for m in range(1, 13)]
    monthly: dict[str, dict[int, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for ln in inv.ghg.lines:
        if ln.scope in (1, 2):
            monthly[f"scope{ln.scope}"][ln.month.month].append(ln.emissions_tco2)
    mcols = [Column("month", "月份", "Month", decimals=0), Column("scope1", "范围一", "Scope 1", "tCO2", 2),
             Column("scope2", "范围二(位置,未扣减)", "Scope 2 location (gross)", "tCO2", 2)]
    mrows: list[dict[str, Cell]] = []
    for i, m in enumerate(months, start=1):
        s1 = monthly["scope1"].get(i)
        s2 = monthly["scope2"].get(i)
        mrows.append({"month": m, "scope1": _fsum_known(s1) if s1 else None, "scope2": _fsum_known(s2) if s2 else None})
    chart = Chart("月度排放", "Monthly emissions", "stacked_bar", months,
                  {"范围一 Scope 1": [r["scope1"] if isinstance(r["scope1"], float) else None for r in mrows],
                   "范围二 Scope 2": [r["scope2"] if isinstance(r["scope2"], float) else None for r in mrows]}, "tCO2")
    partial = "" if t.complete else " Totals are PARTIAL: some activity records are missing (see Data quality)."
    return Section("排放量", "Emissions", [
        f"{run.year}: total {t.total_location_tco2:,.2f} tCO2 location-based, {t.total_market_tco2:,.2f} tCO2 "
        f"market-based; comprehensive energy consumption {t.energy_tce:,.2f} tce.{partial}"],
        [Table("排放量汇总", "Emissions summary", cols, rows, sheet_name="Results"),
         Table("月度排放", "Monthly emissions", mcols, mrows, sheet_name="Monthly")], [chart])


def _quality_section(run: EnterpriseRun, inv: Inventory, ledger: Sequence[ActivityRecord]) -> Section:
    cov = inv.coverage
    counts: dict[str, int] = defaultdict(int)
    for r in ledger:
        counts[r.quality.value if r.quantity is not None else "missing"] += 1
    cols = [Column("item", "项目", "Item", decimals=0), Column("value", "值", "Value", decimals=2)]
    rows: list[dict[str, Cell]] = [
        {"item": "活动数据记录数 Records", "value": len(cov.records)},
        {"item": "缺失记录数 Missing records", "value": len(cov.missing_records)},
        {"item": "数据覆盖率 Coverage [%]", "value": None if cov.covered_frac is None else 100 * cov.covered_frac},
        {"item": "缺失记录 Missing ids", "value": ", ".join(cov.missing_records[:20]) or "—"},
        {"item": "超额申领绿电(未计入) Excess claims [kWh]", "value": inv.totals.excess_claims_kwh},
    ]
    rows += [{"item": f"质量标识 {k}", "value": v} for k, v in sorted(counts.items())]
    paras = ["Missing values are never counted as zero (GB/T 32150-2015 clause 9 data quality management)."]
    paras += [f"⚠ {n}" for n in run.factor_notes]
    return Section("数据质量管理", "Data quality", paras,
                   [Table("数据质量", "Data quality", cols, rows, sheet_name="Data quality")])


def build_enterprise_report(run: EnterpriseRun, *, ledger: Sequence[ActivityRecord] = ()) -> Report:
    """The GB/T 32150-structured GHG report of one enterprise for the run's year.

    ``ledger``: the enterprise's activity records of the year (for the activity-data table and
    the quality flags).
    """
    inv = run.inventory
    enterprise_id, name = run.enterprise_id, run.name or run.enterprise_id
    own = [r for r in ledger if r.enterprise_id == enterprise_id]
    t = inv.totals
    return Report(
        title_zh=f"{name} {run.year} 年度温室气体排放报告",
        title_en=f"GHG emissions report {run.year} (GB/T 32150-2015)",
        subtitle=f"{run.park_name} · {enterprise_id} · GB/T 32150-2015 · parkcarbon",
        generated_at=datetime.now(UTC),
        sections=[_entity_section(run), _boundary_section(run, inv), _sources_section(inv),
                  _activity_section(inv, own), _factors_section(run, inv), _results_section(run, inv),
                  _quality_section(run, inv, own)],
        meta={"企业 Enterprise": f"{enterprise_id} {name}", "年份 Year": str(run.year),
              "排放总量(位置) Total location [tCO2]": f"{t.total_location_tco2:,.2f}",
              "排放总量(市场) Total market [tCO2]": f"{t.total_market_tco2:,.2f}",
              "综合能耗 Energy [tce]": f"{t.energy_tce:,.2f}",
              "数据完整 Complete": "是 yes" if t.complete else "否 partial",
              "因子回退策略 Factor fallback policy": run.policy.value},
    )


def build_energy_statistics_report(run: AccountingRun, *, enterprise_ids: Sequence[str] | None = None) -> Report:
    """Energy statistics (能源消费统计) of the run's year: per enterprise and carrier the physical
    quantities [carrier unit], the coefficient and the counted energy [tce] (GB/T 2589-2020)."""
    ents = [e for e in run.inventory.enterprises if enterprise_ids is None or e.enterprise_id in enterprise_ids]
    if not ents:
        raise NotFoundError("no enterprise selected for the energy statistics",
                            message_zh="能源统计未选中任何企业", hint="check the ids", hint_zh="请检查企业编号")
    cols = [Column("id", "企业编号", "Enterprise", decimals=0), Column("name", "企业名称", "Name", decimals=0),
            Column("carrier", "能源品种", "Carrier", decimals=0), Column("unit", "计量单位", "Unit", decimals=0),
            Column("purchased", "购入量", "Purchased", decimals=2),
            Column("consumed", "消费量", "Consumed", decimals=2),
            Column("onsite", "自产量", "On-site generated", decimals=2),
            Column("exported", "外供量", "Exported", decimals=2),
            Column("coefficient", "折标系数", "Coefficient", decimals=4),
            Column("coef_unit", "系数单位", "Coefficient unit", decimals=0),
            Column("energy_tce", "综合能耗", "Energy", "tce", 3)]
    rows: list[dict[str, Cell]] = []
    park_by_month: dict[int, list[float | None]] = defaultdict(list)
    for e in sorted(ents, key=lambda x: x.enterprise_id):
        per: dict[str, list[EnergyLine]] = defaultdict(list)
        for ln in e.energy.lines:
            per[ln.carrier].append(ln)
            if ln.counted:
                park_by_month[ln.month.month].append(ln.energy_tce)
        for code, lines in sorted(per.items()):
            c = carrier(code)

            def q(flow: Flow, ls: list[EnergyLine] = lines) -> float | None:
                return _fsum_known([ln.quantity(flow) for ln in ls])

            coef = next((ln.coefficient for ln in lines if ln.coefficient is not None), None)
            counted = [ln for ln in lines if ln.counted]
            rows.append({"id": e.enterprise_id, "name": run.enterprise_names.get(e.enterprise_id, ""),
                         "carrier": f"{c.name_zh} {c.name_en}", "unit": c.unit,
                         "purchased": q(Flow.PURCHASED), "consumed": q(Flow.CONSUMED),
                         "onsite": q(Flow.ONSITE_GENERATED), "exported": q(Flow.EXPORTED),
                         "coefficient": coef.value if coef is not None else None,
                         "coef_unit": coef.unit if coef is not None else "",
                         "energy_tce": _fsum_known([ln.energy_tce for ln in counted]) if counted else None})
    total = math.fsum(e.totals.energy_tce for e in ents)
    months = [f"{run.year}-{m:02d}" for m in range(1, 13)]
    mrows: list[dict[str, Cell]] = [{"month": m, "energy_tce": _fsum_known(park_by_month[i]) if park_by_month[i] else None}
                                    for i, m in enumerate(months, start=1)]
    mcols = [Column("month", "月份", "Month", decimals=0), Column("energy_tce", "综合能耗", "Energy", "tce", 2)]
    return Report(
        title_zh=f"{run.park_name} {run.year} 年能源消费统计报表",
        title_en=f"Energy statistics {run.year}",
        subtitle=f"{run.park_name} · {run.province} · GB/T 2589-2020 · parkcarbon",
        generated_at=datetime.now(UTC),
        sections=[
            Section("说明", "Notes", [
                f"{len(ents)} enterprises; comprehensive energy consumption {total:,.2f} tce "
                f"({run.inventory.options.basis.value} basis).",
                "Physical quantities in each carrier's canonical unit; '—' marks a missing value (never 0)."]),
            Section("分企业分品种能源消费", "Energy by enterprise and carrier", [],
                    [Table("能源消费明细", "Energy consumption detail", cols, rows, sheet_name="Energy detail")]),
            Section("月度综合能耗", "Monthly energy", [],
                    [Table("月度综合能耗", "Monthly energy consumption", mcols, mrows, sheet_name="Monthly")],
                    [Chart("月度综合能耗", "Monthly energy", "bar", months,
                           {"tce": [r["energy_tce"] if isinstance(r["energy_tce"], float) else None
                                    for r in mrows]}, "tce")]),
        ],
        meta={"园区 Park": run.park_name, "年份 Year": str(run.year), "综合能耗 Energy [tce]": f"{total:,.2f}"},
    )
