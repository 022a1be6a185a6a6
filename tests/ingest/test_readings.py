"""ING-05: timestamps — four input forms, OS time zone independence, CST refused, tzdata history, skew."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from parkcarbon.errors import PeriodError, QuantityError
from parkcarbon.ingest.readings import parse_reading_rows, parse_timestamp

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("value", [
    "2025-03-01T00:15:00+08:00", "2025-03-01 00:15:00+0800", "2025-02-28T16:15:00Z", "2025-02-28T16:15:00z",
    1740759300, "1740759300", 1740759300.0, datetime(2025, 3, 1, 0, 15, tzinfo=SH),
])
def test_same_instant_in_every_form(value):
    ts, _off = parse_timestamp(value)
    assert ts == datetime(2025, 2, 28, 16, 15, tzinfo=UTC)


def test_source_offset_is_kept():
    assert parse_timestamp("2025-03-01T00:15:00+08:00")[1] == 480
    assert parse_timestamp("2025-02-28T16:15:00Z")[1] == 0
    assert parse_timestamp(1740759300)[1] is None


def test_naive_needs_a_declared_zone():
    with pytest.raises(PeriodError) as exc:
        parse_timestamp("2025-03-01 00:15")
    assert "+08:00" in exc.value.hint
    ts, off = parse_timestamp("2025-03-01 00:15", naive_tz=SH)
    assert ts == datetime(2025, 2, 28, 16, 15, tzinfo=UTC) and off == 480


@pytest.mark.parametrize("text", ["2025-03-01 00:15 CST", "2025-03-01T00:15:00 CST", "2025-03-01 00:15 UTC",
                                  "2025-03-01 00:15 Asia/Shanghai", "2025-03-01T00:15:00+08:00[Asia/Shanghai]",
                                  "Sat Mar  1 00:15:00 CST 2025", "01/03/2025 00:15", "yesterday", "", "2025-03-01",
                                  1e13, -5, float("nan")])
def test_ambiguous_or_bad_forms_rejected(text):
    with pytest.raises(PeriodError):
        parse_timestamp(text, naive_tz=SH)


def test_historical_daylight_saving_uses_tzdata():
    """China observed DST 1986–1991: 1988-07-01 noon local is UTC+9, not a fixed +8."""
    ts, off = parse_timestamp("1988-07-01 12:00", naive_tz=SH)
    assert ts == datetime(1988, 7, 1, 3, 0, tzinfo=UTC) and off == 540
    ts, off = parse_timestamp("1988-12-01 12:00", naive_tz=SH)
    assert ts == datetime(1988, 12, 1, 4, 0, tzinfo=UTC) and off == 480
    with pytest.raises(PeriodError):  # 1988-04-17 02:30 did not exist (clocks jumped 02:00 → 03:00)
        parse_timestamp("1988-04-17 02:30", naive_tz=SH)
    with pytest.raises(PeriodError):  # 1988-09-11 01:30 happened twice
        parse_timestamp("1988-09-11 01:30", naive_tz=SH)


def test_reading_rows_collect_all_errors():
    rows = [(2, {"meter_code": "M1", "timestamp": "2025-03-01T00:00:00+08:00", "value": "1.5"}),
            (3, {"meter_code": "", "timestamp": "2025-03-01T00:00:00+08:00", "value": 1}),
            (4, {"meter_code": "M1", "timestamp": "2025-03-01 00:00 CST", "value": 1}),
            (5, {"meter_code": "M1", "timestamp": "2025-03-01T00:00:00Z", "value": -1}),
            (6, {"meter_code": "M1", "timestamp": "2025-03-01T00:00:00Z", "value": None})]
    ok, errors = parse_reading_rows(rows, file="f.csv")
    assert [r.row for r in ok] == [2] and ok[0].value == 1.5
    assert [(e.location.row, type(e)) for e in errors] == [(3, type(errors[0])), (4, PeriodError), (5, QuantityError),
                                                           (6, QuantityError)]


_SCRIPT = textwrap.dedent("""
    import csv, io, json, sys, time
    from datetime import datetime, timedelta, timezone
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store
    from parkcarbon.services.ingestion import import_readings, import_statistics
    time.tzset()
    folder = sys.argv[1]
    settings = Settings(data_dir=folder)
    st = open_store(f"sqlite:///{folder}/s.sqlite", settings=settings)
    with st.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E")
        for code in ("NAIVE", "OFFSET", "Z", "EPOCH"):
            repo.add_meter(tenant_id="E", enterprise_id="E", code=code, carrier="electricity", unit="kWh",
                           kind="interval", interval_s=900)
    start = datetime(2025, 2, 28, 15, 0, tzinfo=timezone.utc)  # 23:00 local, the day before
    forms = {
        "NAIVE": lambda t: (t + timedelta(hours=8)).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M"),
        "OFFSET": lambda t: t.astimezone(timezone(timedelta(hours=8))).isoformat(),
        "Z": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EPOCH": lambda t: str(int(t.timestamp())),
    }
    out = {}
    for code, fmt in forms.items():
        buf = io.StringIO(); w = csv.writer(buf); w.writerow(["表计编号", "时间", "读数"])
        for i in range(4 * 26):  # 26 hours of 15-min values 1, 2, 3, ...
            w.writerow([code, fmt(start + timedelta(minutes=15 * i)), i + 1])
        import_readings(st, buf.getvalue().encode(), code + ".csv", tenant_id="E", uploader="t",
                        naive_tz="Asia/Shanghai" if code == "NAIVE" else None, settings=settings,
                        now=datetime(2025, 4, 1, tzinfo=timezone.utc))
    with st.reader() as repo:
        for m in repo.list_meters(tenant_id="E"):
            out[m.code] = [(a.period_start_utc.isoformat(), a.energy, a.n_measured) for a in repo.aggregates([m.id], "day")]
    print(json.dumps(out))
""")


@pytest.mark.parametrize("os_tz", ["UTC", "Asia/Shanghai"])
def test_daily_totals_identical_across_forms_and_os_zones(tmp_path, os_tz):
    env = {**os.environ, "TZ": os_tz}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    days = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(set(map(json.dumps, days.values()))) == 1, days  # four forms → identical daily totals
    d = days["Z"]
    # days start at Asia/Shanghai midnight = 16:00 UTC of the previous day
    assert [x[0] for x in d] == ["2025-02-27T16:00:00+00:00", "2025-02-28T16:00:00+00:00",
                                 "2025-03-01T16:00:00+00:00"]
    # 23:00–24:00 local on the first day = values 1..4; the next local day = values 5..100; then 101..104
    assert d[0][1] == 1 + 2 + 3 + 4 and d[1][1] == sum(range(5, 101)) and d[1][2] == 96
    assert d[2][1] == 101 + 102 + 103 + 104
    expected = tmp_path.parent / "ing05-expected.json"  # the same across OS zones (max daily difference 0)
    if expected.exists():
        assert json.loads(expected.read_text()) == d
    expected.write_text(json.dumps(d))
