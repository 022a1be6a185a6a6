"""Lookups, fallback policies, UNVERIFIED opt-in, user sets and validation of malformed CSV."""

from __future__ import annotations

import csv
import random
import warnings
from pathlib import Path

import pytest
from factor_helpers import WriteSet, factor_row, write_user_set
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkcarbon.errors import FactorDataError, FactorError, FactorNotFoundError, InputError
from parkcarbon.factors import (
    FactorFallbackWarning,
    FactorRegistry,
    FallbackPolicy,
    UnverifiedFactorWarning,
    check_user_dirs,
    default_registry,
    lookup,
)
from parkcarbon.factors.registry import DATA_DIR


@pytest.fixture(scope="module")
def reg() -> FactorRegistry:
    return default_registry()


# --------------------------------------------------------------------------- regions
@pytest.mark.parametrize("text", ["江苏", "江苏省", "CN-JS", "cn-js", "JS", "Jiangsu", " 江苏省 ", "ＣＮ-ＪＳ"])
def test_region_names_resolve_to_one_code(reg: FactorRegistry, text: str) -> None:
    assert reg.region(text).code == "CN-JS"


@pytest.mark.parametrize(
    ("text", "code"),
    [("内蒙古自治区", "CN-NM"), ("广西壮族自治区", "CN-GX"), ("新疆", "CN-XJ"), ("上海市", "CN-SH"), ("华东", "GRID-EAST"), ("全国", "CN")],
)
def test_region_full_names(reg: FactorRegistry, text: str, code: str) -> None:
    assert reg.region(text).code == code


def test_unknown_region_is_an_input_error(reg: FactorRegistry) -> None:
    with pytest.raises(InputError) as exc:
        reg.region("火星")
    assert exc.value.code == "E-INPUT-REGION"


# --------------------------------------------------------------------------- strict and fallbacks
def test_strict_raises_naming_what_was_asked_and_what_exists(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        reg.lookup("grid_ef", region="江苏", year=2024, method="average")
    msg = exc.value.message
    assert "region=CN-JS year=2024 method=average" in msg
    assert "CN-JS: 2021, 2022" in msg and "GRID-EAST: 2021, 2022, 2023" in msg
    assert exc.value.message_zh != msg and exc.value.hint


def test_unknown_key_suggests_close_keys(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError, match="did you mean: grid_ef"):
        reg.lookup("grid_eff", year=2022, method="average")


def test_unknown_method_lists_existing_methods(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError, match="method='excl_market_non_fossil'"):
        reg.lookup("grid_ef", year=2022, method="avg")


def test_latest_published_year_warns_and_records(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning, match="latest_published_year"):
        ref = reg.lookup("grid_ef", region="江苏", year=2024, method="average", policy=FallbackPolicy.LATEST_PUBLISHED_YEAR)
    assert (ref.region, ref.year, ref.value) == ("CN-JS", 2022, 0.5978)
    assert ref.fallback_note and "used CN-JS 2022" in ref.fallback_note


def test_region_hierarchy_warns_and_records(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning):
        ref = reg.lookup("grid_ef", region="江苏", year=2023, method="average", policy=FallbackPolicy.REGION_HIERARCHY)
    assert (ref.region, ref.year, ref.value) == ("GRID-EAST", 2023, 0.55)
    assert ref.fallback_note and "region_hierarchy" in ref.fallback_note


def test_region_hierarchy_does_not_change_year(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError):
        reg.lookup("grid_ef", region="江苏", year=2024, method="average", policy=FallbackPolicy.REGION_HIERARCHY)


def test_region_then_year_prefers_the_consumption_year(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning):
        ref = reg.lookup("grid_ef", region="江苏", year=2024, method="average", policy=FallbackPolicy.REGION_THEN_YEAR)
    assert (ref.region, ref.year) == ("GRID-EAST", 2023)


def test_year_then_region_prefers_the_region(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning):
        ref = reg.lookup("grid_ef", region="江苏", year=2024, method="average", policy=FallbackPolicy.YEAR_THEN_REGION)
    assert (ref.region, ref.year) == ("CN-JS", 2022)


def test_exact_match_under_a_fallback_policy_has_no_note(reg: FactorRegistry) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = reg.lookup("grid_ef", region="江苏", year=2022, method="average", policy=FallbackPolicy.REGION_THEN_YEAR)
    assert ref.fallback_note is None and ref.value == 0.5978


def test_year_less_rows_match_any_year_without_fallback(reg: FactorRegistry) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reg.lookup("coal_coef.raw_coal", year=2031, method="calorific").value == 0.7143


def test_validity_period_limits_regulatory_rows(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError, match=r"valid 2022-01-01\.\.2025-12-31"):
        reg.lookup("grid_ef", year=2026, method="ets_reporting")


def test_latest_published_year_extends_an_expired_regulatory_row_with_a_warning(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning, match="latest_published_year"):
        ref = reg.lookup("grid_ef", year=2027, method="ets_reporting", policy=FallbackPolicy.LATEST_PUBLISHED_YEAR)
    assert ref.value == 0.5703 and ref.fallback_note


def test_no_fallback_below_the_earliest_year(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError):
        reg.lookup("grid_ef", year=2019, method="average", policy=FallbackPolicy.REGION_THEN_YEAR)


def test_non_default_set_is_used_only_when_named(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError, match="name the set"):
        reg.lookup("ncv.anthracite")
    with pytest.raises(FactorNotFoundError) as exc:
        reg.lookup("ncv.anthracite", set_id="ndrc-guidelines-2013")
    assert exc.value.code == "E-FACTOR-UNVERIFIED"


# --------------------------------------------------------------------------- UNVERIFIED
def test_unverified_row_needs_opt_in(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        reg.lookup("grid_ef", year=2021, method="excl_market_non_fossil")
    assert exc.value.code == "E-FACTOR-UNVERIFIED" and "0.5942" in exc.value.message
    with pytest.warns(UnverifiedFactorWarning):
        ref = reg.lookup("grid_ef", year=2021, method="excl_market_non_fossil", allow_unverified=True)
    assert ref.value == 0.5942 and ref.grade == "UNVERIFIED"
    assert ref.fallback_note and "UNVERIFIED" in ref.fallback_note and "opt-in" in ref.fallback_note


def test_unverified_row_is_skipped_by_fallback_and_the_skip_recorded(write_set: WriteSet) -> None:
    d = write_set("js-unverified", [factor_row(grade="UNVERIFIED", value="0.7")])
    reg = FactorRegistry.load([d])
    with pytest.warns(FactorFallbackWarning) as record:
        ref = reg.lookup("grid_ef", region="江苏", year=2023, method="average", policy=FallbackPolicy.REGION_HIERARCHY)
    assert (ref.region, ref.value) == ("GRID-EAST", 0.55)
    assert ref.fallback_note and "skipped UNVERIFIED row js-unverified:grid_ef@CN-JS/2023#average" in ref.fallback_note
    assert any("skipped UNVERIFIED" in str(w.message) for w in record)


def test_unverified_membership_is_skipped_by_region_fallback(reg: FactorRegistry) -> None:
    with pytest.warns(FactorFallbackWarning) as record:
        ref = reg.lookup("grid_ef", region="CN-SC", year=2023, method="average", policy=FallbackPolicy.REGION_HIERARCHY)
    assert ref.region == "CN"  # 西南 membership is UNVERIFIED: skipped
    assert ref.fallback_note and "skipped GRID-SOUTHWEST" in ref.fallback_note
    assert any("skipped GRID-SOUTHWEST" in str(w.message) for w in record)


def test_unverified_mapping_with_opt_in(reg: FactorRegistry) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ref = reg.lookup(
            "grid_ef", region="四川", year=2023, method="average", policy=FallbackPolicy.REGION_HIERARCHY, allow_unverified=True
        )
    assert (ref.region, ref.value) == ("GRID-SOUTHWEST", 0.2472)
    kinds = {type(w.message) for w in record}
    assert kinds == {FactorFallbackWarning, UnverifiedFactorWarning}
    assert any("CN-SC → GRID-SOUTHWEST" in str(w.message) for w in record)
    assert ref.fallback_note and "UNVERIFIED" in ref.fallback_note


def test_primary_input_yearly_values_are_unverified(reg: FactorRegistry) -> None:
    with pytest.raises(FactorNotFoundError) as exc:
        reg.lookup("coal_coef.electricity", year=2022, method="primary_input")
    assert exc.value.code == "E-FACTOR-UNVERIFIED"
    with pytest.warns(UnverifiedFactorWarning):
        ref = reg.lookup("coal_coef.electricity", year=2022, method="primary_input", allow_unverified=True)
    assert ref.unit == "tce/kWh" and 0.00029 < ref.value < 0.00032


def test_module_lookup_uses_the_default_registry() -> None:
    assert lookup("heat_ef").value == 0.11


# --------------------------------------------------------------------------- user sets
def test_user_set_adds_rows(write_set: WriteSet) -> None:
    d = write_set("js-2023", [factor_row()])
    reg = FactorRegistry.load([d])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = reg.lookup("grid_ef", region="江苏", year=2023, method="average")
    assert ref.value == 0.58 and ref.factor_id == "js-2023:grid_ef@CN-JS/2023#average"
    assert "江苏省生态环境厅" in ref.source
    assert reg.overrides == ()


def test_user_override_is_explicit_and_recorded(write_set: WriteSet) -> None:
    d = write_set("js-fix", [factor_row(year=2022, value="0.6000"), factor_row()], overrides="mee-grid-co2")
    reg = FactorRegistry.load([d])
    ref = reg.lookup("grid_ef", region="江苏", year=2022, method="average")
    assert ref.value == 0.6
    assert ref.set_version == "2023.1+js-fix@u1"
    assert len(reg.overrides) == 1
    o = reg.overrides[0]
    assert (o.set_id, o.by_set, o.old_value, o.new_value) == ("mee-grid-co2", "js-fix", 0.5978, 0.6)
    row = reg.resolve("grid_ef", region="江苏", year=2022, method="average").row
    assert row.replaces is not None and row.replaces.value == 0.5978
    # the added 2023 row lives in the same set
    assert reg.lookup("grid_ef", region="江苏", year=2023, method="average", set_id="mee-grid-co2").value == 0.58
    # packaged registry untouched
    assert default_registry().lookup("grid_ef", region="江苏", year=2022, method="average").value == 0.5978


def test_user_set_duplicating_a_packaged_row_without_overrides_is_rejected(write_set: WriteSet) -> None:
    d = write_set("js-dup", [factor_row(year=2022)])
    with pytest.raises(FactorDataError) as exc:
        FactorRegistry.load([d])
    assert "overrides=mee-grid-co2" in (exc.value.hint or "")
    assert exc.value.location is not None and exc.value.location.row == 2


def test_user_set_id_collision_is_rejected(write_set: WriteSet) -> None:
    d = write_set("mee-grid-co2", [factor_row()])
    with pytest.raises(FactorDataError, match="already used"):
        FactorRegistry.load([d])


def test_override_of_unknown_set_is_rejected(write_set: WriteSet) -> None:
    d = write_set("js-x", [factor_row()], overrides="no-such-set")
    with pytest.raises(FactorDataError, match="no such set"):
        FactorRegistry.load([d])


def test_folder_of_user_sets(write_set: WriteSet, tmp_path: Path) -> None:
    write_set("a-set", [factor_row()])
    write_set("b-set", [factor_row(region="CN-ZJ", value="0.5")])
    reg = FactorRegistry.load([tmp_path / "user"])
    assert {"a-set", "b-set"} <= set(reg.sets)


def test_empty_user_dir_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FactorDataError, match="no factor set found"):
        FactorRegistry.load([tmp_path])


# --------------------------------------------------------------------------- malformed user CSV
@pytest.mark.parametrize(
    ("change", "column", "fragment"),
    [
        ({"value": "abc"}, "value", "not a number"),
        ({"value": "nan"}, "value", "not finite"),
        ({"value": "inf"}, "value", "not finite"),
        ({"value": ""}, "value", "empty"),
        ({"value": "-0.5"}, "value", "negative"),
        ({"unit": "kgCO2/kwh"}, "unit", "not a known factor unit"),
        ({"grade": "A/B"}, "grade", "not one of"),
        ({"source_id": "NOPE"}, "source_id", "not in sources.csv"),
        ({"source_id": ""}, "source_id", "needs a source"),
        ({"region": "Atlantis"}, "region", "not a known region"),
        ({"year": "2023.5"}, "year", "not an integer"),
        ({"year": "23"}, "year", "out of range"),
        ({"valid_from": "2024-01-01", "valid_to": "2023-01-01"}, "valid_to", "before valid_from"),
        ({"valid_from": "2024/01/01"}, "valid_from", "not a date"),
        ({"value_min": "0.6"}, "value", "below value_min"),
        ({"value_max": "0.1"}, "value", "above value_max"),
        ({"key": "grid ef"}, "key", "characters"),
    ],
)
def test_malformed_row_reports_row_and_column(write_set: WriteSet, change: dict[str, str], column: str, fragment: str) -> None:
    good = factor_row(region="CN-ZJ", value="0.5")
    d = write_set("bad", [good, factor_row(**change)])
    with pytest.raises(FactorDataError) as exc:
        FactorRegistry.load([d])
    err = exc.value
    assert fragment in err.message
    assert err.location is not None
    assert err.location.row == 3  # header = 1, good row = 2
    assert err.location.column == column
    assert err.location.file and err.location.file.endswith("factors.csv")
    assert err.message_zh != err.message and err.hint and err.hint_zh


def test_duplicate_rows_in_a_user_set(write_set: WriteSet) -> None:
    d = write_set("dup", [factor_row(), factor_row(value="0.6")])
    with pytest.raises(FactorDataError, match="duplicate factor row") as exc:
        FactorRegistry.load([d])
    assert exc.value.location is not None and exc.value.location.row == 3


def test_rows_with_disjoint_validity_are_not_duplicates(write_set: WriteSet) -> None:
    rows = [
        factor_row(year="", valid_from="2020-01-01", valid_to="2021-12-31", value="0.6"),
        factor_row(year="", valid_from="2022-01-01", valid_to="2022-12-31", value="0.5"),
    ]
    reg = FactorRegistry.load([write_set("periods", rows)])
    assert reg.lookup("grid_ef", region="CN-JS", year=2021, method="average", set_id="periods").value == 0.6
    assert reg.lookup("grid_ef", region="CN-JS", year=2022, method="average", set_id="periods").value == 0.5


def test_unknown_column_is_rejected(write_set: WriteSet) -> None:
    d = write_set("typo", [factor_row()], header=[*(c for c in factor_row()), "vlaue"])
    with pytest.raises(FactorDataError) as exc:
        FactorRegistry.load([d])
    assert exc.value.location is not None and (exc.value.location.row, exc.value.location.column) == (1, "vlaue")


def test_missing_required_column_is_rejected(write_set: WriteSet) -> None:
    d = write_set("nogrades", [factor_row()], header=[c for c in factor_row() if c != "grade"])
    with pytest.raises(FactorDataError) as exc:
        FactorRegistry.load([d])
    assert exc.value.location is not None and exc.value.location.column == "grade"


def test_bad_manifest_kind(write_set: WriteSet) -> None:
    d = write_set("k", [factor_row()], kind="magic")
    with pytest.raises(FactorDataError) as exc:
        FactorRegistry.load([d])
    assert exc.value.location is not None and exc.value.location.column == "kind"


def test_conflicting_source_definition(write_set: WriteSet) -> None:
    d = write_set(
        "src",
        [factor_row()],
        sources=[{"source_id": "GBT2589-S1", "publisher": "someone else", "citation": "other", "url": "", "note": ""}],
    )
    with pytest.raises(FactorDataError, match="defined twice"):
        FactorRegistry.load([d])


def test_non_utf8_file(write_set: WriteSet) -> None:
    d = write_set("gbk", [factor_row()])
    (d / "factors.csv").write_bytes("key,region\n电力,CN\n".encode("gbk"))
    with pytest.raises(FactorDataError, match="UTF-8"):
        FactorRegistry.load([d])


# --------------------------------------------------------------------------- ambiguity
def test_two_default_sets_matching_year_less_and_year_specific(write_set: WriteSet) -> None:
    d = write_set("js-any-year", [factor_row(year="", value="0.61")])
    reg = FactorRegistry.load([d])
    # year-specific rows win over year-less ones
    assert reg.lookup("grid_ef", region="江苏", year=2022, method="average").value == 0.5978
    assert reg.lookup("grid_ef", region="江苏", year=2024, method="average").value == 0.61


def test_overlapping_validity_in_two_default_sets_is_rejected(write_set: WriteSet, tmp_path: Path) -> None:
    write_set("one", [factor_row(year="", valid_from="2020-01-01", valid_to="2030-12-31")])
    write_set("two", [factor_row(year="", valid_from="2031-01-01", value="0.1")])
    reg = FactorRegistry.load([tmp_path / "user"])  # disjoint validity: fine
    assert reg.lookup("grid_ef", region="江苏", year=2032, method="average").value == 0.1
    write_set("three", [factor_row(year="", valid_from="2025-01-01", valid_to="2026-12-31", value="0.2")])
    with pytest.raises(FactorDataError, match="duplicates"):
        FactorRegistry.load([tmp_path / "user"])


def test_ambiguity_between_named_sets_is_an_error(write_set: WriteSet) -> None:
    a = write_set("na", [factor_row(year="")], default="no")
    reg = FactorRegistry.load([a])
    with pytest.raises(FactorError):
        reg.factor_set("missing-set")
    assert reg.lookup("grid_ef", region="江苏", year=2023, method="average", set_id="na").value == 0.58


# --------------------------------------------------------------------------- property: row order
def _copy_packaged(dst: Path, order_seed: int) -> Path:
    """Copy the packaged data with the rows of every factors.csv shuffled."""
    rnd = random.Random(order_seed)
    (dst / "sets").mkdir(parents=True)
    for name in ("sources.csv", "regions.csv"):
        (dst / name).write_bytes((DATA_DIR / name).read_bytes())
    for set_dir in (DATA_DIR / "sets").iterdir():
        out = dst / "sets" / set_dir.name
        out.mkdir()
        (out / "manifest.csv").write_bytes((set_dir / "manifest.csv").read_bytes())
        with open(set_dir / "factors.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        body = rows[1:]
        rnd.shuffle(body)
        with open(out / "factors.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows([rows[0], *body])
    return dst


_QUERIES = [
    ("grid_ef", "江苏", 2024, "average", "", FallbackPolicy.REGION_THEN_YEAR),
    ("grid_ef", "四川", 2023, "average", "", FallbackPolicy.REGION_HIERARCHY),
    ("grid_ef", "CN", 2025, "fossil", "", FallbackPolicy.LATEST_PUBLISHED_YEAR),
    ("grid_ef", "CN", 2020, "ets_reporting", "", FallbackPolicy.STRICT),
    ("coal_coef.steam", "CN", 2023, "calorific", "3.5MPa", FallbackPolicy.STRICT),
    ("coal_coef.natural_gas", "CN", None, "calorific", "", FallbackPolicy.STRICT),
    ("electricity_cfp", "CN", 2025, "life_cycle", "", FallbackPolicy.LATEST_PUBLISHED_YEAR),
]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_lookups_do_not_depend_on_row_order(tmp_path_factory: pytest.TempPathFactory, seed: int) -> None:
    shuffled = FactorRegistry.load(data_dir=_copy_packaged(tmp_path_factory.mktemp("shuffled"), seed))
    base = default_registry()
    for key, region, year, method, variant, policy in _QUERIES:
        a = base.resolve(key, region=region, year=year, method=method, variant=variant, policy=policy)
        b = shuffled.resolve(key, region=region, year=year, method=method, variant=variant, policy=policy)
        assert (a.ref.factor_id, a.ref.value, a.ref.unit, a.ref.fallback_note) == (
            b.ref.factor_id,
            b.ref.value,
            b.ref.unit,
            b.ref.fallback_note,
        )


def test_packaged_data_dir_with_wrong_set_directory_name(tmp_path: Path) -> None:
    data = _copy_packaged(tmp_path / "d", 1)
    (data / "sets" / "gbt2589").rename(data / "sets" / "gbt-renamed")
    with pytest.raises(FactorDataError, match="differs from its directory name"):
        FactorRegistry.load(data_dir=data)


def test_user_set_written_with_helper_loads(tmp_path: Path) -> None:
    d = write_user_set(tmp_path, "plain", [factor_row(source_id="GBT2589-S1")])
    assert FactorRegistry.load([d]).lookup("grid_ef", region="CN-JS", year=2023, method="average").value == 0.58


# --------------------------------------------------------------------------- validation reports every row
def test_check_user_dirs_reports_every_bad_row(write_set: WriteSet) -> None:
    d = write_set(
        "many-bad",
        [
            factor_row(region="CN-ZJ", value="0.5"),
            factor_row(value="abc"),
            factor_row(region="CN-SH", unit="kg/kWh"),
            factor_row(region="CN-AH", grade="E"),
        ],
    )
    reg, errors = check_user_dirs([d])
    assert reg is None
    assert [(e.location.row, e.location.column) for e in errors if e.location] == [(3, "value"), (4, "unit"), (5, "grade")]


def test_check_user_dirs_clean_set_returns_registry(write_set: WriteSet) -> None:
    reg, errors = check_user_dirs([write_set("fine", [factor_row()])])
    assert errors == [] and reg is not None and "fine" in reg.sets


def test_check_user_dirs_reports_cross_set_duplicates(write_set: WriteSet) -> None:
    reg, errors = check_user_dirs([write_set("dup-packaged", [factor_row(year=2022)])])
    assert reg is None and len(errors) == 1 and "duplicates" in errors[0].message
