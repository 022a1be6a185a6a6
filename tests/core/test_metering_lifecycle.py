"""Stateful model test of a register meter's life through the pure pipeline (core part of ING-02).

A model meter consumes energy every 15 minutes; the gateway sends register readings with sequence
numbers. Rules: normal reading, lost message (gap), bad zero reading, register rollover (by
consumption), declared meter replacement with a non-zero start, and estimation followed by real
data. Invariants after every step:

(b) Σ counted increments == the model's conserved energy between the baseline and the last good
    reading, and the grid carries the same energy (nothing zero-filled, nothing lost);
(d) every slot inside the read span is measured or flagged estimated (prorated lump);
    estimates of interval values are superseded once real data exists.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from parkcarbon.core.metering import (
    EstimationMethod,
    MeterReplacement,
    QualityCode,
    RegisterSpec,
    estimate_gaps,
    interval_values_to_grid,
    merge_real_over_estimates,
    register_increments,
    register_increments_to_grid,
)

T0 = 1_740_758_400
Q = 900
SPEC = RegisterSpec.counter_bits(16)
LIMIT = 6553  # energy between two counted readings stays ≤ 10 % of the range (rollover rule)


class MeterLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.slot = 0  # current slot index (time = T0 + slot·Q)
        self.register = 1000  # current register value of the installed meter
        self.energy = 0  # true cumulative energy since the baseline
        self.ts: list[int] = [T0]
        self.values: list[float] = [1000.0]
        self.seq: list[int] = [0]
        self.next_seq = 1
        self.good_energy: list[int] = [0]  # true energy at each good reading
        self.good_values: list[float] = [1000.0]
        self.last_good_ts = T0
        self.since_ref = 0  # energy since the last good reading
        self.replacements: list[MeterReplacement] = []
        self.interval_truth: list[int] = []  # true energy per slot

    def _advance(self, d: int) -> None:
        self.slot += 1
        self.energy += d
        self.since_ref += d
        self.interval_truth.append(d)
        self.register = (self.register + d) % SPEC.modulus

    def _send(self, value: float, good: bool) -> None:
        self.ts.append(T0 + self.slot * Q)
        self.values.append(value)
        self.seq.append(self.next_seq % 65536)
        self.next_seq += 1
        if good:
            self.last_good_ts = self.ts[-1]
            self.good_values.append(value)
            self.good_energy.append(self.energy)
            self.since_ref = 0

    def _budget(self, d: int) -> int:
        return max(0, min(int(d), LIMIT - self.since_ref))

    @rule(d=st.integers(0, 2000))
    def normal_reading(self, d: int) -> None:
        self._advance(self._budget(d))
        self._send(float(self.register), good=True)

    @precondition(lambda self: self.since_ref < LIMIT)
    @rule(d=st.integers(0, 2000))
    def lost_message(self, d: int) -> None:
        """The gateway read the meter but the message was lost: a gap and a seq jump."""
        self._advance(self._budget(d))
        self.next_seq += 1

    @precondition(
        lambda self: 0 < self.register < 0.9 * SPEC.max_value - 2000 and min(self.good_values[-2:]) > 0
    )
    @rule(d=st.integers(0, 2000))
    def bad_zero(self, d: int) -> None:
        """A bad zero from an offline device (MyEMS): never a reset, never summed."""
        self._advance(self._budget(d))
        self._send(0.0, good=False)

    @precondition(lambda self: self.since_ref == 0 and self.register < 0.9 * SPEC.max_value)
    @rule()
    def run_to_rollover(self) -> None:
        """Consume up to just past the register maximum, reading on the way (rollover follows)."""
        while self.register < SPEC.max_value - 1500:
            self._advance(1500)
            self._send(float(self.register), good=True)
        self._advance(2000)
        self._send(float(self.register), good=True)

    @precondition(lambda self: self.since_ref < LIMIT and self.register + 1000 <= SPEC.max_value)
    @rule(d=st.integers(0, 2000), new_start=st.integers(0, 50_000))
    def replace_meter(self, d: int, new_start: int) -> None:
        """Declared replacement halfway through the next interval; the new meter starts at new_start."""
        d = self._budget(d)
        first = d // 2
        old_final = self.register + first
        if old_final > SPEC.max_value or new_start + (d - first) > SPEC.max_value:
            return
        self.replacements.append(MeterReplacement(T0 + self.slot * Q + Q // 2, old_final, new_start))
        self.slot += 1
        self.energy += d
        self.since_ref += d
        self.interval_truth.append(d)
        self.register = new_start + (d - first)
        self._send(float(self.register), good=True)

    @invariant()
    def energy_conserved(self) -> None:  # (b)
        r = register_increments(
            self.ts, self.values, seq=self.seq, seq_modulus=65536, register=SPEC,
            replacements=self.replacements, expected_interval_s=Q,
        )
        expected = self.good_energy[-1] - self.good_energy[0]
        assert r.total() == expected
        assert (r.increment[np.isfinite(r.increment)] >= 0).all()
        n_slots = (self.last_good_ts - T0) // Q
        g = register_increments_to_grid(r, grid_start_s=T0, n_slots=n_slots)
        if n_slots:
            assert g.total() == pytest.approx(expected, abs=1e-6)
            assert not (g.quality == QualityCode.MISSING).any()  # nothing zero-filled or dropped
            lumps = g.quality == QualityCode.ESTIMATED
            assert (g.method[lumps] == EstimationMethod.PRORATED_LUMP.code).all()
            # a measured slot carries exactly the true energy of that interval
            truth = np.array(self.interval_truth[:n_slots], dtype=float)
            measured = g.quality == QualityCode.MEASURED
            assert np.allclose(g.value[measured], truth[measured])

    @invariant()
    def estimates_superseded_by_real_data(self) -> None:
        n = len(self.interval_truth)
        if n < 3:
            return
        truth = np.array(self.interval_truth, dtype=float)
        ts = T0 + np.arange(n, dtype=np.int64) * Q
        keep = np.ones(n, dtype=bool)
        keep[n // 3 : n // 3 + 1] = False
        s = interval_values_to_grid(ts[keep], truth[keep], grid_start_s=T0, n_slots=n)
        est = estimate_gaps(s)
        m = merge_real_over_estimates(est.series, interval_values_to_grid(ts, truth, grid_start_s=T0, n_slots=n))
        assert len(m.superseded) == est.series.count(QualityCode.ESTIMATED)
        assert (m.series.quality == QualityCode.MEASURED).all() and np.array_equal(m.series.value, truth)


MeterLifecycle.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_meter_lifecycle = MeterLifecycle.TestCase


class MeterLifecycleT3(MeterLifecycle):
    pass


MeterLifecycleT3.TestCase.settings = settings(max_examples=300, stateful_step_count=100, deadline=None)
test_meter_lifecycle_t3 = pytest.mark.t3(MeterLifecycleT3.TestCase)


def test_rollover_landing_exactly_on_zero_is_a_good_reading() -> None:
    """Regression of the model itself: a rollover can land on 0 (a good reading, not a bad zero)."""
    m = MeterLifecycle()
    m.normal_reading(2000)
    while m.register < SPEC.max_value - 1500:
        m.normal_reading(1500)
    m.normal_reading(int(SPEC.modulus - m.register))
    assert m.values[-1] == 0.0 and m.last_good_ts == m.ts[-1]
    m.energy_conserved()
