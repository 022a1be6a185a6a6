"""Virtual meters (虚拟表): a linear formula over other meters' interval values.

A formula is parsed by a small recursive-descent parser — never ``eval`` — into a linear
combination ``Σ coefficient × meter``. Allowed: meter ids, numbers, ``+``, ``-`` (also ``−``),
``*`` (also ``×``) where at least one side is a constant, and parentheses. Meter ids are words
(``M1``, ``main.incomer``, ``总表``) or any text in braces (``{meter-07/A}``). Products of meters and
additive constants are refused (:class:`parkcarbon.errors.InputError`, code ``E-INPUT``).

Example: ``"main - {pv-export} + 0.5 * (shared_a + shared_b)"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from parkcarbon.core.metering_series import IntervalSeries, QualityCode
from parkcarbon.errors import InputError, Location, UnitError

__all__ = ["VirtualMeterFormula", "evaluate_virtual_meter", "parse_formula"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<id>[^\W\d][\w.]*)|\{(?P<bid>[^{}]+)\}"
    r"|(?P<op>[-+*()−×]))"
)


@dataclass(frozen=True)
class VirtualMeterFormula:
    """A parsed formula: ``terms`` = ((meter id, coefficient [-]), …) in first-use order."""

    text: str
    terms: tuple[tuple[str, float], ...]

    @property
    def meter_ids(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.terms)


# a linear form: (coefficients by meter, constant)
_Lin = tuple[dict[str, float], float]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                self._fail(f"unexpected character {text[pos:].lstrip()[:1]!r}", pos)
            assert m is not None
            kind = m.lastgroup or ""
            tok = m.group(kind)
            start = m.start(kind)
            if kind == "bid":
                kind = "id"
                tok = tok.strip()
            if kind == "op":
                tok = {"−": "-", "×": "*"}.get(tok, tok)
            self.tokens.append((kind, tok, start))
            pos = m.end()
        self.i = 0

    def _fail(self, what: str, pos: int) -> None:
        raise InputError(
            f"virtual meter formula {self.text!r}: {what} at position {pos + 1}",
            message_zh=f"虚拟表公式 {self.text!r}：第 {pos + 1} 个字符处{what}",
            hint="use meter ids, numbers, + - * and parentheses; a product needs a constant factor",
            hint_zh="公式只能包含表号、数字、+ - * 和括号；乘法至少一侧为常数",
            location=Location(value=self.text),
        )

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self._fail("unexpected end", len(self.text))
        assert tok is not None
        self.i += 1
        return tok

    def parse(self) -> _Lin:
        if not self.tokens:
            self._fail("empty formula", 0)
        lin = self.expr()
        tok = self.peek()
        if tok is not None:
            self._fail(f"unexpected {tok[1]!r}", tok[2])
        return lin

    def expr(self) -> _Lin:
        acc = self.term()
        while (tok := self.peek()) is not None and tok[1] in "+-":
            self.take()
            rhs = self.term()
            sign = 1.0 if tok[1] == "+" else -1.0
            coefs = dict(acc[0])
            for k, v in rhs[0].items():
                coefs[k] = coefs.get(k, 0.0) + sign * v
            acc = (coefs, acc[1] + sign * rhs[1])
        return acc

    def term(self) -> _Lin:
        acc = self.unary()
        while (tok := self.peek()) is not None and tok[1] == "*":
            self.take()
            rhs = self.unary()
            if acc[0] and rhs[0]:
                self._fail("product of two meters (not linear)", tok[2])
            if not acc[0]:
                acc, rhs = rhs, acc
            factor = rhs[1]
            acc = ({k: v * factor for k, v in acc[0].items()}, acc[1] * factor)
        return acc

    def unary(self) -> _Lin:
        tok = self.peek()
        if tok is not None and tok[1] in "+-":
            self.take()
            inner = self.unary()
            s = 1.0 if tok[1] == "+" else -1.0
            return ({k: s * v for k, v in inner[0].items()}, s * inner[1])
        return self.atom()

    def atom(self) -> _Lin:
        kind, tok, pos = self.take()
        if kind == "num":
            return ({}, float(tok))
        if kind == "id":
            return ({tok: 1.0}, 0.0)
        if tok == "(":
            inner = self.expr()
            close = self.take()
            if close[1] != ")":
                self._fail("missing ')'", close[2])
            return inner
        self._fail(f"unexpected {tok!r}", pos)
        raise AssertionError  # unreachable


def parse_formula(text: str) -> VirtualMeterFormula:
    """Parse a virtual-meter formula into a linear combination of meters (no ``eval``)."""
    coefs, const = _Parser(text).parse()
    if const != 0.0:
        raise InputError(
            f"virtual meter formula {text!r} has a constant term {const:g}",
            message_zh=f"虚拟表公式 {text!r} 含常数项 {const:g}",
            hint="a per-interval constant has no meaning: use only meters times constants",
            hint_zh="每个时段加常数没有意义：请只用“常数×表”的形式",
            location=Location(value=text),
        )
    if not coefs:
        raise InputError(
            f"virtual meter formula {text!r} names no meter",
            message_zh=f"虚拟表公式 {text!r} 未引用任何表",
            location=Location(value=text),
        )
    return VirtualMeterFormula(text, tuple(coefs.items()))


def evaluate_virtual_meter(
    formula: VirtualMeterFormula | str,
    inputs: Mapping[str, IntervalSeries],
    *,
    meter_id: str = "",
) -> IntervalSeries:
    """Evaluate a virtual meter slot by slot over its input series (same grid and unit).

    A slot is missing if any input is missing, else suspect if any is suspect (value ``NaN`` in
    both cases); else estimated if any input is estimated, else edited if any is edited, else
    measured.
    """
    f = parse_formula(formula) if isinstance(formula, str) else formula
    absent = [m for m in f.meter_ids if m not in inputs]
    if absent:
        raise InputError(
            f"virtual meter {meter_id!r}: no data for meter(s) {', '.join(absent)}",
            message_zh=f"虚拟表 {meter_id!r}：缺少表 {', '.join(absent)} 的数据",
            location=Location(record=meter_id or None, value=f.text),
        )
    series = [inputs[m] for m in f.meter_ids]
    ref = series[0]
    for s in series[1:]:
        if (s.start_s, s.interval_s, s.n_slots) != (ref.start_s, ref.interval_s, ref.n_slots):
            raise InputError(
                f"virtual meter {meter_id!r}: input series are not on the same grid",
                message_zh=f"虚拟表 {meter_id!r}：输入序列的时间网格不一致",
                location=Location(record=meter_id or None, value=f.text),
            )
    units = {s.unit for s in series if s.unit}
    if len(units) > 1:
        raise UnitError(
            f"virtual meter {meter_id!r}: inputs have different units {sorted(units)}",
            message_zh=f"虚拟表 {meter_id!r}：输入单位不一致 {sorted(units)}",
            location=Location(record=meter_id or None, value=f.text),
        )
    value = np.zeros(ref.n_slots)
    qs = np.vstack([s.quality for s in series])
    for (_, coef), s in zip(f.terms, series, strict=True):
        value = value + coef * np.where(s.summed_mask(), s.value, 0.0)
    quality = np.full(ref.n_slots, QualityCode.MEASURED, dtype=np.uint8)
    for code in (QualityCode.EDITED, QualityCode.ESTIMATED, QualityCode.SUSPECT, QualityCode.MISSING):
        quality[(qs == code).any(axis=0)] = code
    value = np.where(quality <= QualityCode.EDITED, value, np.nan)
    return IntervalSeries(
        ref.start_s, ref.interval_s, value.astype(np.float64), quality,
        np.zeros(ref.n_slots, dtype=np.uint8), units.pop() if units else "", meter_id,
    )
