"""Evaluation and measure reference data: every row has a source and a grade, % become fractions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from parkcarbon.errors import FactorDataError, FactorNotFoundError
from parkcarbon.factors.evaluation_data import (
    data_file,
    load_key_unit_thresholds,
    load_measure_catalogue,
    load_scored_indicators,
    load_target_set,
    load_warning_thresholds,
    load_zero_carbon_criteria,
    target_set_ids,
)

FILES = ["evaluation/zero_carbon_park_criteria.csv", "evaluation/green_factory_indicators.csv",
         "evaluation/green_park_indicators.csv", "evaluation/target_sets.csv", "evaluation/key_unit_thresholds.csv",
         "evaluation/warning_thresholds.csv", "measures/measure_catalogue.csv"]
GRADES = {"A", "A/B", "B", "C", "D", "UNVERIFIED"}


@pytest.mark.parametrize("name", FILES)
def test_every_row_has_source_and_grade(name: str) -> None:
    with data_file(name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        assert r["source"].strip()
        assert r["grade"].split(" ")[0] in GRADES, r


def test_zero_carbon_criteria_match_notes_4_2() -> None:
    c = {x.criterion_id: x for x in load_zero_carbon_criteria()}
    assert c["ZCP-1a"].threshold == 0.2 and c["ZCP-1a"].energy_min_tce == 200_000 and c["ZCP-1a"].binding
    assert c["ZCP-1b"].threshold == 0.3 and c["ZCP-1b"].energy_max_tce is None
    assert c["ZCP-2"].threshold == pytest.approx(0.90) and c["ZCP-2"].unit == "fraction"
    assert c["ZCP-4"].threshold == pytest.approx(0.80)
    assert c["ZCP-5"].threshold == pytest.approx(0.50)
    assert c["ZCP-6"].threshold == pytest.approx(0.80)
    assert c["ZCP-3"].threshold is None and "UNVERIFIED" in c["ZCP-3"].grade
    assert all(x.evidence for x in c.values())


def test_scored_sets_and_target_sets() -> None:
    gf = load_scored_indicators("green_factory")
    tiers = [d for d in gf if d.indicator_id == "GF-E3"]
    assert len(tiers) == 4 and all(d.baseline is not None and d.baseline < 1 for d in tiers)
    assert next(d for d in gf if d.indicator_id == "GF-E4").leading == 8
    gp = load_scored_indicators("green_park")
    assert next(d for d in gp if d.indicator_id == "RG6").leading == pytest.approx(0.95)
    with pytest.raises(FactorNotFoundError):
        load_scored_indicators("blue_park")
    assert set(target_set_ids()) == {"carbon_peak_pilot", "zero_carbon_park"}
    pilot = {t.target_id: t for t in load_target_set("carbon_peak_pilot")}
    ei = pilot["carbon_peak_pilot:energy_intensity"]
    assert [(m.year, m.reduction_frac, m.reference_year) for m in ei.milestones] == [(2025, 0.18, None), (2030, 0.15, 2025)]
    assert pilot["carbon_peak_pilot:non_fossil_share"].milestones[1].value == pytest.approx(0.20)
    with pytest.raises(FactorDataError):
        load_target_set("zero_carbon_park")  # no milestone year without target_year
    zc = load_target_set("zero_carbon_park", target_year=2030, entity_id="park")
    assert all(t.milestones[0].year == 2030 for t in zc)
    with pytest.raises(FactorNotFoundError):
        load_target_set("nope")


def test_thresholds_and_catalogue() -> None:
    k = load_key_unit_thresholds()
    assert (k.key_tce, k.designated_tce, k.local_tce) == (10_000, 5_000, 3_000)
    assert load_key_unit_thresholds(local=False).local_tce is None
    w = load_warning_thresholds()
    assert (w.yellow_frac, w.orange_frac, w.red_frac, w.basis) == (0.90, 0.95, 1.00, "central")
    with pytest.raises(FactorNotFoundError):
        load_warning_thresholds("nope")
    cat = {m.measure_id: m for m in load_measure_catalogue()}
    expected = {"motors", "fans", "pumps", "air_compressors", "transformers", "waste_heat_recovery",
                "boilers_to_heat_pumps", "rooftop_pv", "green_power"}
    assert {m.category for m in cat.values()} == expected
    assert not cat["GREEN-POWER"].reduces_energy and not cat["GREEN-POWER"].saves_energy_cost
    assert cat["BOIL-HP"].carrier_added == "electricity"


def test_malformed_user_files_are_located(tmp_path: Path) -> None:
    p = tmp_path / "cat.csv"
    header = Path(data_file("measures/measure_catalogue.csv")).read_text(encoding="utf-8").splitlines()[0]
    p.write_text(header + "\nX,x,x,fans,kW,electricity,abc,0.2,,0,true,true,1,0,10,src,C,\n", encoding="utf-8")
    with pytest.raises(FactorDataError) as e:
        load_measure_catalogue(p)
    assert e.value.location is not None and e.value.location.row == 2 and e.value.location.column == "baseline_per_size"
    p.write_text(header + "\nX,x,x,fans,kW,electricity,1,0.2,,0,true,true,1,0,10,,C,\n", encoding="utf-8")
    with pytest.raises(FactorDataError) as e:
        load_measure_catalogue(p)
    assert e.value.location is not None and e.value.location.column == "source"
    p.write_text(header + "\nX,x,x,fans,kW,electricity,1,25,,0,true,true,1,0,10,s,C,\n", encoding="utf-8")
    with pytest.raises(FactorDataError):
        load_measure_catalogue(p)  # saving 25 (percent) instead of 0.25
    q = tmp_path / "w.csv"
    q.write_text("scheme,yellow_frac,orange_frac,red_frac,basis,source,grade\nx,0.99,0.95,1.0,central,s,C\n",
                 encoding="utf-8")
    with pytest.raises(FactorDataError):
        load_warning_thresholds("x", q)
