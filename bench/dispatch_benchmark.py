"""Dispatch and sizing benchmark: parkcarbon vs PyPSA vs a raw HiGHS call on the same matrix.

One year of a synthetic park (load ≈ 20–32 MW with daily/weekly shape and noise, 30 MWp rooftop
PV from the offline pvlib model calibrated to Jiangsu's typical full-load hours, a 20 MWh / 10 MW
battery, Jiangsu TOU tariff from the packaged data, PV-surplus export at the feed-in price).

Variants (default): ``dispatch-1h`` (8 760 steps), ``dispatch-15min`` (35 040 steps) and
``sizing-1h`` (PV ≤ 30 MWp and a 2-hour battery sized, no export). For each variant, in the same
run and on the same data:

* ``parkcarbon`` — end to end: problem dataclass → model builder → HiGHS → frozen result;
* ``highs`` — a raw ``highspy`` call (``passModel`` + ``run`` + ``getSolution``) on the matrix
  parkcarbon built (matrix building not timed: the floor for any HiGHS-based tool);
* ``pypsa`` — the same LP written as a PyPSA network (one bus, import/export generators, PV
  generator, StorageUnit), ``n.optimize(solver_name="highs", io_api="direct")`` end to end with
  HiGHS' default options; ``pypsa_tuned`` (sizing only) passes the HiGHS options parkcarbon picks
  (interior point without crossover), isolating the modelling overhead. Skipped with a message
  when PyPSA is not installed (``pip install -e '.[bench]'``).

Every step runs in its own process (``spawn``) so that peak memory (``ru_maxrss``) is its own.
Objectives must agree to 1e-6 relative. Goals: parkcarbon ≥ 2× faster than PyPSA, ≤ 1.25× the
raw HiGHS solve.

    python -m bench.dispatch_benchmark                       # all variants, ≈2–3 min on 2 cores
    python -m bench.dispatch_benchmark --variant dispatch-1h --skip pypsa
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import resource
import sys
import time
from typing import Any

import numpy as np

VARIANTS = ("dispatch-1h", "dispatch-15min", "sizing-1h")
TOOLS = ("parkcarbon", "highs", "pypsa", "pypsa_tuned")
YEAR = 2025
PV_KWP = 30_000.0
BATTERY_KWH = 20_000.0
BATTERY_KW = 10_000.0
ETA = 0.95
PROVINCE = "Jiangsu"
CLASS = "industrial_commercial_1_10kv"
# sizing cost assumptions (same numbers passed to both tools)
PV_CAPEX, PV_FOM, PV_LIFE = 3200.0, 40.0, 25
BAT_CAPEX_KWH, BAT_CAPEX_KW, BAT_FOM_KWH, BAT_LIFE, BAT_HOURS = 900.0, 300.0, 15.0, 12, 2.0
RATE = 0.06


def _rss_mb() -> float:
    """Peak resident memory of this process so far [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _current_rss_mb() -> float:
    """Resident memory now [MB] (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _head(d: dict[str, Any], steps: int) -> dict[str, Any]:
    """The first ``steps`` steps of the data (warm-up run, not timed)."""
    out = dict(d)
    for k in ("load", "pv", "yield", "price"):
        out[k] = d[k][:steps]
    out["labels"] = d["labels"][:steps]
    return out


def park_data(step_h: float) -> dict[str, Any]:
    """Deterministic park year on a ``step_h`` grid (not timed)."""
    import pandas as pd

    from parkcarbon.factors.tariffs import load_tariff_book
    from parkcarbon.planning.pv import PVSystemSpec, simulate_pv_clearsky

    idx = pd.date_range(f"{YEAR}-01-01", f"{YEAR + 1}-01-01", freq=pd.Timedelta(hours=step_h), inclusive="left",
                        tz="Asia/Shanghai")
    rng = np.random.default_rng(42)
    hour = idx.hour.to_numpy() + idx.minute.to_numpy() / 60
    weekday = idx.dayofweek.to_numpy() < 5
    shift = np.where((hour >= 8) & (hour < 20), 1.0, 0.35) * np.where(weekday, 1.0, 0.6)
    load = 20_000 + 12_000 * shift + rng.normal(0, 600, len(idx))
    load = np.clip(load, 5_000, None)
    pv = simulate_pv_clearsky(PVSystemSpec(32.0, 118.8, tilt_deg=25, capacity_kwp=PV_KWP), idx, step_h=step_h,
                              province=PROVINCE)
    utc = idx.tz_convert("UTC")
    tariff = load_tariff_book().series(PROVINCE, CLASS, utc, step_h)
    return {"step_h": step_h, "load": load, "pv": np.asarray(pv.ac_kw), "yield": np.asarray(pv.yield_kw_per_kwp),
            "price": np.asarray(tariff.import_price_cny_per_kwh), "feed_in": float(tariff.feed_in_cny_per_kwh or 0),
            "labels": tariff.period_labels, "index": utc}


def _problem(d: dict[str, Any], sizing: bool) -> Any:
    from parkcarbon.planning.problem import (
        Battery,
        BatteryInvestment,
        DispatchProblem,
        PVInvestment,
        SizingProblem,
    )

    n = d["load"].size
    if not sizing:
        bat = Battery("bess", energy_kwh=BATTERY_KWH, charge_power_kw=BATTERY_KW, charge_efficiency=ETA,
                      discharge_efficiency=ETA)
        return DispatchProblem(step_h=d["step_h"], load_kw=d["load"], import_price_per_kwh=d["price"],
                               export_price_per_kwh=np.full(n, d["feed_in"]), pv_available_kw=d["pv"],
                               batteries=(bat,), period_labels=d["labels"])
    base = DispatchProblem(step_h=d["step_h"], load_kw=d["load"], import_price_per_kwh=d["price"],
                           grid_export_limit_kw=0.0, period_labels=d["labels"])
    tpl = Battery("bess", energy_kwh=0, charge_power_kw=0, charge_efficiency=ETA, discharge_efficiency=ETA)
    return SizingProblem(
        base,
        pv=PVInvestment(d["yield"], PV_CAPEX, PV_FOM, PV_LIFE, max_kwp=PV_KWP),
        battery=BatteryInvestment(tpl, BAT_CAPEX_KWH, BAT_CAPEX_KW, BAT_FOM_KWH, BAT_LIFE, duration_h=BAT_HOURS),
        discount_rate=RATE,
    )


def run_parkcarbon(d: dict[str, Any], sizing: bool) -> tuple[float, float]:
    from parkcarbon.planning.dispatch import optimise_dispatch
    from parkcarbon.planning.model import build_sizing_model
    from parkcarbon.planning.solver import solve

    t0 = time.perf_counter()
    problem = _problem(d, sizing)
    if sizing:
        # the sizing LP itself (optimise_sizing also solves a baseline and an exact re-evaluation)
        out = solve(build_sizing_model(problem))
        assert out.objective is not None
        obj = out.objective
    else:
        obj = optimise_dispatch(problem).solver.objective
    return time.perf_counter() - t0, float(obj)


def run_highs(d: dict[str, Any], sizing: bool) -> tuple[float, float]:
    import highspy
    from highspy._core import _Highs  # the bare class (the Python wrapper only adds callbacks and a banner)

    from parkcarbon.planning.model import build_dispatch_model, build_sizing_model
    from parkcarbon.planning.solver import SolverOptions

    p = _problem(d, sizing)
    m = build_sizing_model(p) if sizing else build_dispatch_model(p)
    t0 = time.perf_counter()
    h = _Highs()
    for key, value in SolverOptions().highs_options(m).items():  # the same options parkcarbon uses
        h.setOptionValue(key, value)
    h.passModel(m.num_col, m.num_row, m.num_nz, 1, 1, m.offset, m.col_cost, m.col_lower, m.col_upper,
                m.row_lower, m.row_upper, m.a_start[:-1], m.a_index, m.a_value, np.zeros(m.num_col, dtype=np.int32))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    np.asarray(h.getSolution().col_value)
    obj = h.getInfo().objective_function_value
    return time.perf_counter() - t0, float(obj)


def run_pypsa_tuned(d: dict[str, Any], sizing: bool) -> tuple[float, float]:
    """PyPSA with the HiGHS options parkcarbon picks (IPM without crossover for sizing)."""
    return run_pypsa(d, sizing, tuned=True)


def run_pypsa(d: dict[str, Any], sizing: bool, tuned: bool = False) -> tuple[float, float]:
    import logging

    import pandas as pd
    import pypsa

    from parkcarbon.planning.economics import capital_recovery_factor

    logging.getLogger("pypsa").setLevel(logging.ERROR)
    logging.getLogger("linopy").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    snaps = pd.RangeIndex(d["load"].size)
    n = pypsa.Network()
    n.set_snapshots(snaps)
    n.snapshot_weightings = pd.DataFrame({c: float(d["step_h"]) for c in n.snapshot_weightings.columns},
                                         index=snaps)
    n.add("Bus", "site")
    n.add("Load", "load", bus="site", p_set=pd.Series(d["load"], index=snaps))
    big = 1e6
    n.add("Generator", "grid_import", bus="site", p_nom=big, marginal_cost=pd.Series(d["price"], index=snaps))
    if sizing:
        crf_pv = capital_recovery_factor(RATE, PV_LIFE)
        crf_b = capital_recovery_factor(RATE, BAT_LIFE)
        n.add("Generator", "pv", bus="site", p_nom_extendable=True, p_nom_max=PV_KWP,
              capital_cost=PV_CAPEX * crf_pv + PV_FOM, p_max_pu=pd.Series(d["yield"], index=snaps), marginal_cost=0.0)
        n.add("StorageUnit", "bess", bus="site", p_nom_extendable=True, max_hours=BAT_HOURS,
              capital_cost=BAT_CAPEX_KW * crf_b + (BAT_CAPEX_KWH * crf_b + BAT_FOM_KWH) * BAT_HOURS,
              efficiency_store=ETA, efficiency_dispatch=ETA, cyclic_state_of_charge=True, marginal_cost=0.0)
    else:
        surplus = np.maximum(d["pv"] - d["load"], 0.0)
        n.add("Generator", "grid_export", bus="site", p_nom=big, p_min_pu=pd.Series(-surplus / big, index=snaps),
              p_max_pu=0.0, marginal_cost=d["feed_in"])
        n.add("Generator", "pv", bus="site", p_nom=PV_KWP, p_max_pu=pd.Series(d["pv"] / PV_KWP, index=snaps),
              marginal_cost=0.0)
        n.add("StorageUnit", "bess", bus="site", p_nom=BATTERY_KW, max_hours=BATTERY_KWH / BATTERY_KW,
              efficiency_store=ETA, efficiency_dispatch=ETA, cyclic_state_of_charge=True, marginal_cost=0.0)
    solver_options = {}
    if tuned and sizing:
        solver_options = {"solver": "ipm", "run_crossover": "off"}
    status, condition = n.optimize(solver_name="highs", log_to_console=False, include_objective_constant=False,
                                   io_api="direct", progress=False, solver_options=solver_options)
    if status != "ok":
        raise RuntimeError(f"PyPSA: {status} {condition}")
    return time.perf_counter() - t0, float(n.objective + getattr(n, "objective_constant", 0.0))


def _worker(variant: str, tool: str, out: Any) -> None:
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    try:
        step = 0.25 if variant.endswith("15min") else 1.0
        d = park_data(step)
        fn = {"parkcarbon": run_parkcarbon, "highs": run_highs, "pypsa": run_pypsa,
              "pypsa_tuned": run_pypsa_tuned}[tool]
        sizing = variant.startswith("sizing")
        fn(_head(d, int(48 / step)), sizing)  # warm-up on two days: imports and first-call costs not timed
        gc.collect()
        base_rss = _current_rss_mb()
        seconds, obj = fn(d, sizing)
        out.put({"variant": variant, "tool": tool, "seconds": seconds, "objective": obj,
                 "peak_rss_mb": _rss_mb(), "rss_before_mb": base_rss, "steps": int(d["load"].size)})
    except Exception as exc:  # reported, never hidden
        out.put({"variant": variant, "tool": tool, "error": f"{type(exc).__name__}: {exc}"})


def run_step(variant: str, tool: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_worker, args=(variant, tool, q))
    p.start()
    res: dict[str, Any] = q.get()
    p.join()
    return res


def pypsa_available() -> bool:
    try:
        import pypsa  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--variant", action="append", choices=VARIANTS, help="run only these variants")
    ap.add_argument("--skip", action="append", default=[], choices=TOOLS, help="skip a tool")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs per step, interleaved across tools (own process each); the fastest is reported")
    ap.add_argument("--json", type=str, default=None, help="append the figures as one JSON line to this file")
    args = ap.parse_args(argv)
    tools = [t for t in TOOLS if t not in args.skip]
    if not pypsa_available() and ("pypsa" in tools or "pypsa_tuned" in tools):
        print("PyPSA is not installed: skipping it (pip install -e '.[bench]')")
        tools = [t for t in tools if not t.startswith("pypsa")]
    rows: list[dict[str, Any]] = []
    ok = True
    for variant in args.variant or VARIANTS:
        res: dict[str, dict[str, Any]] = {}
        run_tools = [t for t in tools if t != "pypsa_tuned" or variant.startswith("sizing")]
        # (for dispatch parkcarbon uses HiGHS' default choice: pypsa_tuned would equal pypsa)
        for _ in range(max(args.repeat, 1)):  # interleaved, so a busy moment hits every tool alike
            for tool in run_tools:
                if "error" in res.get(tool, {}):
                    continue
                r = run_step(variant, tool)
                if "error" in r or tool not in res or r["seconds"] < res[tool]["seconds"]:
                    res[tool] = r
        for tool in run_tools:
            best = res[tool]
            rows.append(best)
            if "error" in best:
                print(f"{variant:15s} {tool:11s} ERROR {best['error']}")
                ok = False
            else:
                print(f"{variant:15s} {tool:11s} {best['seconds']:8.2f} s  objective {best['objective']:.8e}  "
                      f"peak RSS {best['peak_rss_mb']:7.0f} MB (+{best['peak_rss_mb'] - best['rss_before_mb']:.0f})",
                      flush=True)
        good = {t: r for t, r in res.items() if "error" not in r}
        if "parkcarbon" in good:
            ref = good["parkcarbon"]["objective"]
            for t, r in good.items():
                rel = abs(r["objective"] - ref) / max(abs(ref), 1.0)
                if rel > 1e-6:
                    ok = False
                    print(f"  objective mismatch {t} vs parkcarbon: {rel:.2e} relative")
            parts = []
            if "highs" in good:
                parts.append(f"parkcarbon / raw HiGHS = {good['parkcarbon']['seconds'] / good['highs']['seconds']:.2f}× "
                             "(goal ≤ 1.25×)")
            for t in ("pypsa", "pypsa_tuned"):
                if t in good:
                    parts.append(f"{t} / parkcarbon = {good[t]['seconds'] / good['parkcarbon']['seconds']:.2f}× "
                                 "(goal ≥ 2×)")
            if parts:
                print("  " + "; ".join(parts))
    if args.json:
        with open(args.json, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"benchmark": "dispatch", "rows": rows}) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
