"""A reproducible synthetic demo park (示范园区), modelled on Chinese carbon-peak pilot parks.

``build_demo_park(seed)`` returns plain data — enterprises, a monthly activity ledger
2020-01 … 2025-12, production output and industrial added value, rooftop PV and storage
assets, green power contracts and green certificates, carbonate process inputs and the
park's targets — generated from a seeded random generator, so the same seed always gives
the same park (the tests rely on it).

The park is fictional: 滨江低碳产业园 (Binjiang Low-Carbon Industrial Park) in Jiangsu (East
China grid). Its make-up follows the parks that shaped this project (DESIGN.md §1): equipment
and forging, chemicals, nonwovens and textiles, food, electronics, building materials and
services; a few key energy-consuming units above 10,000 tce; rooftop PV from 2021, storage,
green power trading from 2023 and green certificates from 2024.

The numbers are plausible, not real: energy intensities by sector are in the range of
Chinese statistics (0.05–1.5 tce per 10k CNY added value), seasonality follows the Spring
Festival dip and the summer cooling peak, 2020 has the first-quarter COVID dip, and
energy intensity falls ~3–5 %/yr as a pilot park's would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parkcarbon.core.activity import ActivityRecord, Flow, Quality
from parkcarbon.core.ghg import CarbonateInput
from parkcarbon.core.scope2 import DirectSupply, GreenCertificate, GreenPowerContract, Instruments
from parkcarbon.periods import Month, month_range

__all__ = [
    "DEMO_FIRST_MONTH",
    "DEMO_LAST_MONTH",
    "DemoCertificate",
    "DemoContract",
    "DemoEnterprise",
    "DemoPark",
    "DemoProcessInput",
    "DemoProduction",
    "DemoPvAsset",
    "DemoStorageAsset",
    "DemoTargets",
    "build_demo_park",
    "demo_carbonates",
    "demo_instruments",
]

DEMO_FIRST_MONTH = Month(2020, 1)
DEMO_LAST_MONTH = Month(2025, 12)

@dataclass(frozen=True)
class DemoEnterprise:
    """An enterprise of the demo park.

    ``industry_code`` is the GB/T 4754-2017 class; ``credit_code`` a synthetic
    18-character unified social credit code (统一社会信用代码).
    """

    enterprise_id: str
    name_zh: str
    name_en: str
    sector: str
    industry_code: str
    credit_code: str
    province: str = "江苏"
    green_factory_level: str | None = None


@dataclass(frozen=True)
class DemoProduction:
    """Monthly economic output of an enterprise.

    output_value_10k_cny : gross industrial output value 工业总产值 [10k CNY, current prices]
    added_value_10k_cny : industrial added value 工业增加值 [10k CNY, 2020 comparable prices]
    product_output : physical output [product_unit], or None
    """

    enterprise_id: str
    month: Month
    output_value_10k_cny: float
    added_value_10k_cny: float
    product_name: str | None = None
    product_output: float | None = None
    product_unit: str | None = None


@dataclass(frozen=True)
class DemoPvAsset:
    """A rooftop PV plant [kWp] commissioned in ``commissioned``."""

    asset_id: str
    enterprise_id: str
    capacity_kwp: float
    commissioned: Month
    tilt_deg: float = 20.0
    azimuth_deg: float = 180.0


@dataclass(frozen=True)
class DemoStorageAsset:
    """A battery: power [kW], energy [kWh], round-trip efficiency [fraction]."""

    asset_id: str
    enterprise_id: str
    power_kw: float
    energy_kwh: float
    round_trip_efficiency_frac: float
    commissioned: Month


@dataclass(frozen=True)
class DemoContract:
    """Green power bought in one month: trading (绿电交易) or direct supply (绿电直连) [kWh]."""

    contract_id: str
    enterprise_id: str
    month: Month
    kind: str  # "green_power_trade" | "direct_supply"
    energy_kwh: float
    counterparty: str
    technology: str
    price_cny_per_kwh: float


@dataclass(frozen=True)
class DemoCertificate:
    """A batch of green certificates (绿证, GEC; 1 GEC = 1,000 kWh) claimed in ``claimed_month``."""

    serial_first: str
    count: int
    enterprise_id: str
    vintage: Month
    technology: str
    claimed_month: Month


@dataclass(frozen=True)
class DemoProcessInput:
    """Carbonate consumed in a process (e.g. limestone in glass or lime) [t]."""

    record_id: str
    enterprise_id: str
    month: Month
    mineral: str  # "CaCO3", "MgCO3", "CaMg(CO3)2", "Na2CO3"
    mass_t: float
    calcination_frac: float = 1.0


@dataclass(frozen=True)
class DemoTargets:
    """The park's commitments as a carbon-peak pilot and zero-carbon park candidate."""

    base_year: int = 2020
    target_year: int = 2025
    energy_intensity_reduction_frac: float = 0.18  # per 10k CNY added value vs base year
    energy_intensity_reduction_2030_frac: float = 0.15  # further, vs 2025
    non_fossil_share_2025_frac: float = 0.14
    non_fossil_share_2030_frac: float = 0.20
    carbon_per_energy_max_tco2_per_tce: float = 0.2  # zero-carbon park core indicator
    clean_energy_share_min_frac: float = 0.90
    solid_waste_utilisation_min_frac: float = 0.90


@dataclass(frozen=True)
class DemoPark:
    """Everything the demo generator produces."""

    park_id: str
    name_zh: str
    name_en: str
    province: str
    seed: int
    enterprises: tuple[DemoEnterprise, ...]
    records: tuple[ActivityRecord, ...]
    production: tuple[DemoProduction, ...]
    pv_assets: tuple[DemoPvAsset, ...]
    storage_assets: tuple[DemoStorageAsset, ...]
    contracts: tuple[DemoContract, ...]
    certificates: tuple[DemoCertificate, ...]
    process_inputs: tuple[DemoProcessInput, ...]
    targets: DemoTargets = field(default_factory=DemoTargets)


# --- sector archetypes ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Sector:
    """Sector archetype: GB/T 4754 class, 2020 energy intensity [tce per 10k CNY added value],
    carrier mix as shares of energy [fraction of tce], product and its energy use [tce/unit]."""

    zh: str
    code: str
    count: int
    intensity_tce_per_10k_cny: float
    mix: dict[str, float]
    product_name: str | None
    product_unit: str | None
    product_tce_per_unit: float
    names: tuple[str, ...]


_SECTORS: dict[str, _Sector] = {
    "equipment_forging": _Sector(
        "装备制造与锻造", "C3391", 9, 0.16,
        {"electricity": 0.62, "natural_gas": 0.33, "diesel": 0.03, "fresh_water": 0.02},
        "锻件", "t", 0.35, ("精锻", "重工", "齿轮", "轴承", "锻压", "机械", "法兰", "阀门", "液压")),
    "chemicals": _Sector(
        "化工", "C2614", 6, 1.10,
        {"electricity": 0.28, "raw_coal": 0.34, "natural_gas": 0.18, "steam": 0.18, "fresh_water": 0.02},
        "化工产品", "t", 1.2, ("精细化工", "新材料", "树脂", "助剂", "涂料", "化学")),
    "textiles": _Sector(
        "非织造布与纺织", "C1781", 8, 0.42,
        {"electricity": 0.55, "steam": 0.40, "natural_gas": 0.03, "fresh_water": 0.02},
        "非织造布", "t", 0.9, ("无纺布", "水刺", "熔喷", "纺织", "非织造", "卫材", "纤维", "印染")),
    "food": _Sector(
        "食品", "C1441", 6, 0.22,
        {"electricity": 0.45, "natural_gas": 0.30, "steam": 0.20, "fresh_water": 0.05},
        "食品", "t", 0.45, ("乳业", "烘焙", "调味品", "饮料", "冷链食品", "粮油")),
    "electronics": _Sector(
        "电子信息", "C3982", 7, 0.09,
        {"electricity": 0.93, "natural_gas": 0.05, "fresh_water": 0.02},
        "电子元器件", "万件", 0.02, ("电子", "半导体", "光电", "电路板", "传感器", "智能终端", "新能源电池")),
    "building_materials": _Sector(
        "建材", "C3042", 3, 1.45,
        {"electricity": 0.22, "natural_gas": 0.62, "raw_coal": 0.14, "fresh_water": 0.02},
        "玻璃制品", "t", 0.6, ("玻璃", "新型建材", "石灰")),
    "services": _Sector(
        "生产性服务业", "G5942", 6, 0.05,
        {"electricity": 0.70, "diesel": 0.22, "gasoline": 0.05, "fresh_water": 0.03},
        None, None, 0.0, ("物流", "数据中心", "检测", "研发中心", "仓储", "供应链")),
}

_SECTOR_EN = {
    "equipment_forging": "Equipment & Forging",
    "chemicals": "Chemicals",
    "textiles": "Nonwovens & Textiles",
    "food": "Food",
    "electronics": "Electronics",
    "building_materials": "Building Materials",
    "services": "Services",
}

# Standard-coal coefficients used only to turn a target tce mix into physical quantities
# when generating data [tce per canonical unit]; accounting uses the factor package.
_GEN_TCE_PER_UNIT = {
    "electricity": 0.0001229,
    "natural_gas": 0.0012143,
    "raw_coal": 0.7143,
    "diesel": 1.4571,
    "gasoline": 1.4714,
    "steam": 0.1286,
    "fresh_water": 0.0002571,
}

# Monthly activity shape: Spring Festival dip (Jan/Feb), summer cooling peak.
_SEASON = np.array([0.86, 0.78, 1.00, 1.01, 1.02, 1.04, 1.10, 1.11, 1.03, 1.01, 1.01, 1.03])
_ELEC_SEASON = np.array([0.95, 0.88, 0.98, 0.97, 1.00, 1.07, 1.16, 1.17, 1.05, 0.98, 0.97, 1.01])
# Monthly specific yield of rooftop PV in Jiangsu [kWh/kWp]: ~1,100 full-load hours a year.
_PV_YIELD_KWH_PER_KWP = np.array([62, 70, 90, 105, 115, 108, 118, 121, 98, 88, 70, 60], dtype=float)


def _credit_code(rng: np.random.Generator) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "".join(chars[int(i)] for i in rng.integers(0, len(chars), size=10))
    return f"91320{rng.integers(100, 999)}{body}"[:18]


def build_demo_park(seed: int = 2025) -> DemoPark:
    """Generate the demo park deterministically from ``seed``.

    Returns a :class:`DemoPark` with 45 enterprises and a monthly ledger 2020–2025.
    """
    rng = np.random.default_rng(seed)
    months = month_range(DEMO_FIRST_MONTH, DEMO_LAST_MONTH)
    enterprises: list[DemoEnterprise] = []
    records: list[ActivityRecord] = []
    production: list[DemoProduction] = []
    pv_assets: list[DemoPvAsset] = []
    storage_assets: list[DemoStorageAsset] = []
    contracts: list[DemoContract] = []
    certificates: list[DemoCertificate] = []
    process_inputs: list[DemoProcessInput] = []
    cert_serial = 10_000_000

    n = 0
    for sector, spec in _SECTORS.items():
        names, mix = spec.names, spec.mix
        for i in range(spec.count):
            n += 1
            eid = f"E{n:03d}"
            short = names[i % len(names)]
            ent = DemoEnterprise(
                enterprise_id=eid,
                name_zh=f"滨江{short}{'股份' if i % 3 == 0 else ''}有限公司",
                name_en=f"Binjiang {_SECTOR_EN[sector]} Co. {i + 1}",
                sector=sector,
                industry_code=spec.code,
                credit_code=_credit_code(rng),
                green_factory_level=("national" if rng.random() < 0.15 else "provincial" if rng.random() < 0.2 else None),
            )
            enterprises.append(ent)

            # Size: added value 2020 [10k CNY/yr], log-normal; a few large energy users.
            av_2020 = float(rng.lognormal(mean=np.log(9_000), sigma=0.75))
            if sector in ("chemicals", "building_materials") and i < 2:
                av_2020 *= 1.6  # the park's key energy-consuming units
            growth = float(rng.normal(0.065, 0.025))  # added-value growth per year
            decline = float(rng.normal(0.042, 0.012))  # energy-intensity fall per year
            intensity0 = spec.intensity_tce_per_10k_cny * float(rng.lognormal(0, 0.18))
            mix_noise = {c: s * float(rng.lognormal(0, 0.1)) for c, s in mix.items()}
            total = sum(mix_noise.values())
            mix_noise = {c: s / total for c, s in mix_noise.items()}
            product_name, product_unit, tce_per_product = spec.product_name, spec.product_unit, spec.product_tce_per_unit

            has_pv = sector != "chemicals" and rng.random() < 0.45
            pv_start = Month(int(rng.integers(2021, 2025)), int(rng.integers(1, 13))) if has_pv else None
            pv_kwp = 0.0
            if has_pv and pv_start is not None:
                pv_kwp = float(round(rng.uniform(800, 6000), -1))
                pv_assets.append(DemoPvAsset(f"PV-{eid}", eid, pv_kwp, pv_start))
                if rng.random() < 0.4:
                    storage_assets.append(DemoStorageAsset(
                        f"BESS-{eid}", eid, power_kw=round(pv_kwp * 0.25, -1),
                        energy_kwh=round(pv_kwp * 0.5, -1), round_trip_efficiency_frac=0.88,
                        commissioned=pv_start))
            buys_green = sector in ("electronics", "textiles") and rng.random() < 0.6
            green_frac = float(rng.uniform(0.15, 0.45)) if buys_green else 0.0
            buys_gec = sector in ("electronics", "food", "equipment_forging") and rng.random() < 0.35
            gec_frac = float(rng.uniform(0.10, 0.30)) if buys_gec else 0.0
            direct_supply = eid == "E030" or (sector == "electronics" and i == 0)
            carbonate = sector == "building_materials"

            for m in months:
                t = (m.year - 2020) + (m.month - 1) / 12
                covid = 0.72 if (m.year == 2020 and m.month in (2, 3)) else 0.9 if (m.year == 2020 and m.month == 4) else 1.0
                season = _SEASON[m.month - 1]
                av_month = av_2020 / 12 * (1 + growth) ** t * season * covid * float(rng.normal(1, 0.03))
                intensity = intensity0 * (1 - decline) ** t
                energy_tce = av_month * intensity * float(rng.normal(1, 0.04))
                output_value = av_month * float(rng.uniform(3.2, 4.2))
                prod_out = None
                if product_name is not None and tce_per_product:
                    prod_out = round(energy_tce / float(tce_per_product) * float(rng.normal(1, 0.02)), 1)
                production.append(DemoProduction(
                    eid, m, round(output_value, 2), round(av_month, 2),
                    product_name, prod_out, product_unit))

                fuel_qty: dict[str, float] = {}
                for c, share in mix_noise.items():
                    season_c = _ELEC_SEASON[m.month - 1] / _SEASON[m.month - 1] if c == "electricity" else 1.0
                    qty = energy_tce * share * season_c / _GEN_TCE_PER_UNIT[c]
                    if c == "electricity":
                        gen = 0.0
                        if pv_start is not None and m >= pv_start:
                            gen = pv_kwp * _PV_YIELD_KWH_PER_KWP[m.month - 1] * float(rng.normal(1, 0.08))
                        self_use = min(gen * 0.82, qty * 0.6)
                        exported = gen - self_use
                        purchased = qty - self_use
                        rid = f"{eid}-{m}-electricity"
                        records.append(ActivityRecord(f"{rid}-purchased", eid, m, "electricity", Flow.PURCHASED,
                                                      round(purchased, 1), source=f"国网电费账单 {m}"))
                        if gen > 0:
                            records.append(ActivityRecord(f"{rid}-pv", eid, m, "electricity", Flow.ONSITE_GENERATED,
                                                          round(gen, 1), source=f"光伏发电计量表 PV-{eid}"))
                            records.append(ActivityRecord(f"{rid}-export", eid, m, "electricity", Flow.EXPORTED,
                                                          round(exported, 1), source=f"上网电量结算单 {m}"))
                        if m.year >= 2023 and green_frac > 0:
                            contracts.append(DemoContract(
                                f"GPT-{eid}-{m}", eid, m, "green_power_trade", round(purchased * green_frac, -2),
                                counterparty="江苏电力交易中心 / 盐城海上风电", technology="wind",
                                price_cny_per_kwh=0.453))
                        if m.year >= 2024 and direct_supply:
                            contracts.append(DemoContract(
                                f"DS-{eid}-{m}", eid, m, "direct_supply", round(purchased * 0.2, -2),
                                counterparty="园区分布式光伏绿电直连项目", technology="solar",
                                price_cny_per_kwh=0.38))
                        if m.year >= 2024 and gec_frac > 0 and m.month in (6, 12):
                            count = int(purchased * 6 * gec_frac / 1000)
                            certificates.append(DemoCertificate(
                                f"GEC{m.year}{cert_serial:09d}", count, eid,
                                vintage=Month(m.year - (m.month == 6), 12 if m.month == 6 else 6),
                                technology="solar", claimed_month=m))
                            cert_serial += count
                    elif c == "raw_coal" and m >= Month(2024, 7):
                        # coal boilers replaced by gas boilers (一企一策 measure), 8 % more efficient
                        fuel_qty["natural_gas"] = fuel_qty.get("natural_gas", 0.0) + qty * (
                            _GEN_TCE_PER_UNIT["raw_coal"] / _GEN_TCE_PER_UNIT["natural_gas"]) * 0.92
                    else:
                        fuel_qty[c] = fuel_qty.get(c, 0.0) + qty
                for c, qty in fuel_qty.items():
                    records.append(ActivityRecord(
                        f"{eid}-{m}-{c}", eid, m, c, Flow.CONSUMED if c != "steam" else Flow.PURCHASED,
                        round(qty, 3 if c in ("raw_coal", "diesel", "gasoline") else 1),
                        source=f"{'能源购进、消费与库存' if c != 'steam' else '蒸汽结算单'} {m}"))
                if sector == "chemicals" and i == 1:
                    # natural gas used as feedstock (非能源用途)
                    records.append(ActivityRecord(f"{eid}-{m}-natural_gas-feedstock", eid, m, "natural_gas",
                                                  Flow.NON_ENERGY_USE, round(energy_tce * 0.05 / 0.0012143, 1),
                                                  source=f"原料气计量 {m}"))
                if carbonate:
                    process_inputs.append(DemoProcessInput(
                        f"{eid}-{m}-CaCO3", eid, m, "CaCO3",
                        round(energy_tce * 0.55 * float(rng.normal(1, 0.03)), 2)))
            if sector == "services" and i == 4:
                # a warehouse whose 2025-03 fuel record never arrived: filled by a flagged estimate
                # (same month of the previous year scaled by activity), never by a silent zero
                prev = next(r for r in records if r.enterprise_id == eid and r.month == Month(2024, 3)
                            and r.carrier == "diesel")
                records[:] = [r for r in records
                              if not (r.enterprise_id == eid and r.month == Month(2025, 3) and r.carrier == "diesel")]
                assert prev.quantity is not None
                records.append(ActivityRecord(f"{eid}-2025-03-diesel", eid, Month(2025, 3), "diesel",
                                              Flow.CONSUMED, round(prev.quantity * 1.05, 3),
                                              source="估算：上年同月×业务量比 1.05 (estimate, method same-month-ly)",
                                              quality=Quality.ESTIMATED))

    return DemoPark(
        park_id="binjiang",
        name_zh="滨江低碳产业园",
        name_en="Binjiang Low-Carbon Industrial Park",
        province="江苏",
        seed=seed,
        enterprises=tuple(enterprises),
        records=tuple(records),
        production=tuple(production),
        pv_assets=tuple(pv_assets),
        storage_assets=tuple(storage_assets),
        contracts=tuple(contracts),
        certificates=tuple(certificates),
        process_inputs=tuple(process_inputs),
    )


def demo_carbonates(park: DemoPark) -> tuple[CarbonateInput, ...]:
    """The park's carbonate inputs as accounting inputs."""
    return tuple(
        CarbonateInput(record_id=pi.record_id, enterprise_id=pi.enterprise_id, month=pi.month, mineral=pi.mineral,
                       quantity_t=pi.mass_t, calcination_frac=pi.calcination_frac,
                       source="石灰石进厂计量（示范数据）")
        for pi in park.process_inputs
    )


def demo_instruments(park: DemoPark) -> Instruments:
    """The park's green power contracts, direct supply and certificates as accounting inputs.

    Certificate batches are expanded to consecutive serials (see
    :func:`parkcarbon.services.accounting.certificate_serials`).
    """
    from parkcarbon.services.accounting import certificate_serials

    contracts = tuple(GreenPowerContract(f"{c.contract_id}:{c.month}", c.enterprise_id, c.month, c.energy_kwh,
                                         counterparty=c.counterparty, plant=c.counterparty, technology=c.technology)
                      for c in park.contracts if c.kind != "direct_supply")
    direct = tuple(DirectSupply(f"{c.contract_id}:{c.month}", c.enterprise_id, c.month, c.energy_kwh,
                                plant=c.counterparty, technology=c.technology)
                   for c in park.contracts if c.kind == "direct_supply")
    certs = tuple(GreenCertificate(serial=s, enterprise_id=g.enterprise_id, claim_month=g.claimed_month,
                                   vintage=g.vintage, technology=g.technology)
                  for g in park.certificates for s in certificate_serials(g.serial_first, g.count))
    return Instruments(contracts=contracts, certificates=certs, direct_supply=direct)
