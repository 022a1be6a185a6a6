"""Tariff reference data (factors.tariffs): packaged CSVs, effective dating, validation, step prices.

Lives under tests/planning because the planning engineer owns factors/tariffs.py.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkcarbon.errors import FactorDataError, FactorNotFoundError, PeriodError
from parkcarbon.factors.tariffs import PERIODS, load_tariff_book

CLASS = "industrial_commercial_1_10kv"
PACKAGED = Path(load_tariff_book().directory)


def local_day(day: str, freq: str = "h") -> pd.DatetimeIndex:
    return pd.date_range(day, periods=24 if freq == "h" else 96, freq=freq, tz="Asia/Shanghai").tz_convert("UTC")


def test_packaged_provinces_and_coverage() -> None:
    book = load_tariff_book()
    assert {"Shandong", "Jiangsu", "Liaoning", "Chongqing"} <= set(book.provinces())
    for t in book.tariffs:
        assert t.grade in ("C", "UNVERIFIED") and t.source
        table = t.period_table()
        assert (table[1:] >= 0).all()  # every minute of every month has a period
        assert t.feed_in_cny_per_kwh is not None and 0.3 < t.feed_in_cny_per_kwh < 0.5
        prices = [t.prices_cny_per_kwh[p] for p in PERIODS if p in t.prices_cny_per_kwh]
        assert prices == sorted(prices, reverse=True)  # sharp ≥ peak ≥ flat ≥ valley ≥ deep valley


def test_shandong_spring_deep_valley_and_chinese_name() -> None:
    book = load_tariff_book()
    s = book.series("山东", CLASS, local_day("2024-04-10"), 1.0)
    assert s.period_labels[11] == "deep_valley" and s.period_labels[18] == "peak"
    assert s.import_price_cny_per_kwh[11] == pytest.approx(0.06)
    assert s.demand_charge_cny_per_kw_month == pytest.approx(38.0)
    assert s.billing_month[0] == 2024 * 12 + 3


def test_hourly_step_straddling_half_hour_is_time_averaged() -> None:
    book = load_tariff_book()
    hourly = book.series("Liaoning", CLASS, local_day("2024-03-05"), 1.0)
    quarter = book.series("Liaoning", CLASS, local_day("2024-03-05", "15min"), 0.25)
    # 07:00–08:00 is half flat (0.58) and half peak (0.87)
    assert hourly.import_price_cny_per_kwh[7] == pytest.approx((0.58 + 0.87) / 2)
    np.testing.assert_allclose(hourly.import_price_cny_per_kwh,
                               quarter.import_price_cny_per_kwh.reshape(24, 4).mean(axis=1), rtol=1e-12)


def test_local_time_not_utc() -> None:
    book = load_tariff_book()
    s = book.series("Jiangsu", CLASS, local_day("2024-07-15"), 1.0)
    # 14:00 local in July is the summer sharp peak (06:00 UTC)
    assert s.period_labels[14] == "sharp_peak"
    with pytest.raises(PeriodError):
        book.series("Jiangsu", CLASS, pd.date_range("2024-07-15", periods=3, freq="h"), 1.0)


def copy_data(tmp_path: Path) -> Path:
    d = tmp_path / "tariffs"
    shutil.copytree(PACKAGED, d, ignore=shutil.ignore_patterns("*.md"))
    return d


def test_effective_dating_picks_version_per_day(tmp_path: Path) -> None:
    d = copy_data(tmp_path)
    t = (d / "tou_tariffs.csv").read_text(encoding="utf-8").splitlines()
    header, js = t[0], next(line for line in t if line.startswith("JS-"))
    old = js.replace("JS-IC-1-10KV-2024", "JS-OLD", 1).replace("2024-01-01,,1.2840", "2023-01-01,2023-12-31,1.5000")
    (d / "tou_tariffs.csv").write_text("\n".join([header, js, old]) + "\n", encoding="utf-8")
    w = (d / "tou_windows.csv").read_text(encoding="utf-8").splitlines()
    js_w = [line for line in w if line.startswith("JS-")]
    (d / "tou_windows.csv").write_text("\n".join([w[0], *js_w, *(x.replace("JS-IC-1-10KV-2024", "JS-OLD") for x in js_w)])
                                       + "\n", encoding="utf-8")
    book = load_tariff_book(d)
    assert book.find("Jiangsu", CLASS, date(2023, 6, 1)).tariff_id == "JS-OLD"
    assert book.find("Jiangsu", CLASS, date(2024, 6, 1)).tariff_id == "JS-IC-1-10KV-2024"
    ts = pd.date_range("2023-12-31 00:00", "2024-01-01 23:00", freq="h", tz="Asia/Shanghai").tz_convert("UTC")
    s = book.series("Jiangsu", CLASS, ts, 1.0)
    assert [x.tariff_id for x in s.tariffs] == ["JS-OLD", "JS-IC-1-10KV-2024"]
    with pytest.raises(FactorNotFoundError, match="valid on 2022-05-01"):
        book.find("Jiangsu", CLASS, date(2022, 5, 1))


def test_overlapping_versions_rejected(tmp_path: Path) -> None:
    d = copy_data(tmp_path)
    t = (d / "tou_tariffs.csv").read_text(encoding="utf-8").splitlines()
    js = next(line for line in t if line.startswith("JS-"))
    dup = js.replace("JS-IC-1-10KV-2024", "JS-DUP", 1)
    (d / "tou_tariffs.csv").write_text("\n".join([*t, dup]) + "\n", encoding="utf-8")
    w = (d / "tou_windows.csv").read_text(encoding="utf-8").splitlines()
    extra = [x.replace("JS-IC-1-10KV-2024", "JS-DUP") for x in w if x.startswith("JS-")]
    (d / "tou_windows.csv").write_text("\n".join([*w, *extra]) + "\n", encoding="utf-8")
    with pytest.raises(FactorDataError, match="overlap in time"):
        load_tariff_book(d)


@pytest.mark.parametrize(("old", "new", "match"), [
    ("SD-IC-1-10KV-2024,\"1,2,12\",07:00,16:00,flat", "SD-IC-1-10KV-2024,\"1,2,12\",07:00,15:00,flat",
     "uncovered from 15:00"),
    ("SD-IC-1-10KV-2024,\"1,2,12\",07:00,16:00,flat", "SD-IC-1-10KV-2024,\"1,2,12\",07:00,17:00,flat", "overlaps"),
    ("SD-IC-1-10KV-2024,\"1,2,12\",07:00,16:00,flat", "SD-IC-1-10KV-2024,\"1,2,12\",07:00,16:00,midday", "period"),
    ("SD-IC-1-10KV-2024,\"1,2,12\",07:00,16:00,flat", "SD-IC-1-10KV-2024,\"1,2,12\",07:00,25:00,flat", "HH:MM"),
])
def test_bad_windows_rejected_with_location(tmp_path: Path, old: str, new: str, match: str) -> None:
    d = copy_data(tmp_path)
    p = d / "tou_windows.csv"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(FactorDataError, match=match) as ei:
        load_tariff_book(d)
    assert ei.value.location is not None and ei.value.location.file == "tou_windows.csv"


def test_bad_tariff_rows_rejected(tmp_path: Path) -> None:
    d = copy_data(tmp_path)
    p = d / "tou_tariffs.csv"
    text = p.read_text(encoding="utf-8")
    p.write_text(text.replace("0.0600,38.0", ",38.0"), encoding="utf-8")  # deep valley used but no price
    with pytest.raises(FactorDataError, match="no price"):
        load_tariff_book(d)
    p.write_text(text.replace("UNVERIFIED,\"structure as recalled from 山东", "Z,\"structure as recalled from 山东"),
                 encoding="utf-8")
    with pytest.raises(FactorDataError, match="grade") as ei:
        load_tariff_book(d)
    assert ei.value.location is not None and ei.value.location.row == 2


def test_green_prices() -> None:
    book = load_tariff_book()
    g = book.green_price("江苏", "grid_traded", date(2025, 1, 1))
    assert g.grade == "UNVERIFIED" and g.delivered_price_cny_per_kwh > 0
    with pytest.raises(FactorNotFoundError):
        book.green_price("Jiangsu", "grid_traded", date(2020, 1, 1))
