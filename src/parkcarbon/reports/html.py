"""Render a :class:`~parkcarbon.reports.model.Report` as one self-contained HTML file.

No scripts and no CDN: charts are inline SVG drawn here, styles are inline, so the file opens
offline, prints, and can be archived as evidence. Every text is HTML-escaped by Jinja2's
autoescaping. Missing numbers show as "—", never 0.
"""

from __future__ import annotations

import math
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from parkcarbon.reports.model import Cell, Chart, Column, Report

__all__ = ["format_number", "render_html", "svg_chart", "write_html"]

_PALETTE = ("#1f4e78", "#2e86c1", "#48c9b0", "#f5b041", "#e74c3c", "#8e44ad", "#7f8c8d",
            "#27ae60", "#d35400", "#34495e")


def format_number(value: Cell, column: Column | None = None) -> str:
    """Format a cell for display: thousands separators, the column's decimals, "—" for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    sep = "," if column is None or column.grouping else ""
    if isinstance(value, int):
        return f"{value:{sep}}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        decimals = column.decimals if column is not None else 2
        return f"{value:{sep}.{decimals}f}"
    return str(value)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = float(10.0 ** math.floor(math.log10(v)))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return float(m * exp)
    return float(10 * exp)


def svg_chart(chart: Chart, width: int = 760, height: int = 300) -> Markup:
    """Draw a bar, stacked bar or line chart as inline SVG (escaped labels)."""
    left, right, top, bottom = 70, 150, 30, 50
    pw, ph = width - left - right, height - top - bottom
    cats = list(chart.categories)
    names = list(chart.series)
    n = max(len(cats), 1)
    if chart.kind == "stacked_bar":
        totals = [sum((chart.series[s][i] or 0.0) for s in names) for i in range(len(cats))]
        vmax = _nice_max(max(totals, default=0.0))
    else:
        vals = [v for s in names for v in chart.series[s] if v is not None]
        vmax = _nice_max(max(vals, default=0.0))
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title_en)}">',
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(chart.title_zh)} '
        f"{escape(chart.title_en)}</text>",
    ]
    for k in range(5):
        y = top + ph - ph * k / 4
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{vmax * k / 4:,.{0 if vmax >= 20 else 2}f}</text>")
    parts.append(f'<text x="12" y="{top + ph / 2:.0f}" font-size="10" transform="rotate(-90 12 '
                 f'{top + ph / 2:.0f})" text-anchor="middle">{escape(chart.unit)}</text>')
    slot = pw / n
    step = max(1, math.ceil(n / 14))
    for i, cat in enumerate(cats):
        if i % step == 0:
            x = left + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{top + ph + 16}" font-size="10" text-anchor="middle">'
                         f"{escape(cat)}</text>")
    if chart.kind == "line":
        for si, name in enumerate(names):
            color = _PALETTE[si % len(_PALETTE)]
            points = [
                f"{left + slot * (i + 0.5):.1f},{top + ph - ph * v / vmax:.1f}"
                for i, v in enumerate(chart.series[name]) if v is not None
            ]
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>')
    else:
        groups = 1 if chart.kind == "stacked_bar" else max(len(names), 1)
        bw = slot * 0.8 / groups
        base = [0.0] * len(cats)
        for si, name in enumerate(names):
            color = _PALETTE[si % len(_PALETTE)]
            for i, v in enumerate(chart.series[name]):
                if v is None:
                    continue
                h = ph * v / vmax
                if chart.kind == "stacked_bar":
                    x = left + slot * i + slot * 0.1
                    y = top + ph - ph * base[i] / vmax - h
                    base[i] += v
                else:
                    x = left + slot * i + slot * 0.1 + bw * si
                    y = top + ph - h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{max(h, 0):.1f}" '
                             f'fill="{color}"><title>{escape(name)} {escape(cats[i])}: {v:,.2f}</title></rect>')
    for si, name in enumerate(names):
        y = top + 14 * si
        parts.append(f'<rect x="{left + pw + 12}" y="{y}" width="10" height="10" '
                     f'fill="{_PALETTE[si % len(_PALETTE)]}"/>')
        parts.append(f'<text x="{left + pw + 26}" y="{y + 9}" font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


_ENV = Environment(
    loader=PackageLoader("parkcarbon.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(svg_chart=svg_chart, format_number=format_number)


def render_html(report: Report) -> str:
    """The report as an HTML string."""
    return _ENV.get_template("report.html.j2").render(report=report)


def write_html(report: Report, path: Path) -> Path:
    """Write the report to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path
