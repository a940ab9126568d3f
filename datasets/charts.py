"""Charts drawn on the server as SVG: no script on the page (the CSP allows none inline) and
nothing for the browser to compute. Every label passes through escape() or quoteattr(), so
the returned markup can be embedded in a page as it is.

Each chart has a value axis with round ticks and gridlines, and titles on both axes; months
("2026-08") are labelled in words ("August 2026").

A month no current supply covers is drawn as a hatched column, not as a bar of 0 (there is
nothing to count, which is not a count of none), with a legend entry saying so; a month only
partly supplied has its bar outlined in dashes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from datasets.choices import MonthCoverage
from datasets.coverage import MonthSupply
from hub.words import month_words

# Colour-blind-safe (Okabe–Ito) colours for up to three series.
COLOURS = ("#0072b2", "#d55e00", "#009e73")
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 36, 92
AXIS, GRID = "#0b0c0c", "#dcdcdc"
HATCH = "#6f777b"
NO_SUPPLY_LEGEND = "No supply for the month (not a count of 0)"
PARTIAL_LEGEND = "Dashed outline: partly supplied"


@dataclass(frozen=True)
class Series:
    """One series of a chart: a count or None (nothing shown) a month, and, where known, each
    month's supply (datasets.coverage): a month with none is drawn hatched, not as 0."""

    name: str
    values: list[int | None]
    coverage: tuple[MonthSupply, ...] = ()

    def month(self, position: int) -> MonthSupply | None:
        return self.coverage[position] if self.coverage else None


def _number(value: float) -> str:
    return f"{value:.1f}"


def nice_ticks(top: float, most: int = 6) -> list[float]:
    """Round values from 0 up to at least ``top``, at most ``most`` of them after 0: steps of
    1, 2, 2.5 or 5 times a power of ten, as people draw axes by hand."""
    if top <= 0:
        return [0, 1]
    rough = top / most
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    if step < 1 and top >= 1:
        step = 1
    count = math.ceil(top / step)
    return [round(step * n, 10) for n in range(count + 1)]


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _axes(
    *, ticks: list[float], labels: list[str], x_title: str, y_title: str, unit: str = ""
) -> list[str]:
    """The value axis (its ticks, gridlines and title) and the category axis (its line, its
    labels turned to fit when there are many, and its title)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = ticks[-1]
    parts = []
    for value in ticks:
        y = TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{_number(y)}" x2="{WIDTH - RIGHT}" '
            f'y2="{_number(y)}" stroke="{GRID}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{_number(y + 4)}" text-anchor="end" '
            f'font-size="11">{escape(_tick_text(value) + unit)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        f'stroke="{AXIS}"/>'
    )
    slot = plot_w / max(len(labels), 1)
    turned = len(labels) > 6
    for position, label in enumerate(labels):
        x = LEFT + (position + 0.5) * slot
        y = TOP + plot_h + 14
        words = escape(month_words(label))
        if turned:
            parts.append(
                f'<text class="label" x="{_number(x)}" y="{y}" text-anchor="end" font-size="11" '
                f'transform="rotate(-35 {_number(x)} {y})">{words}</text>'
            )
        else:
            parts.append(
                f'<text class="label" x="{_number(x)}" y="{y}" text-anchor="middle" '
                f'font-size="11">{words}</text>'
            )
    parts.append(
        f'<text class="axis-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 30}" '
        f'text-anchor="middle" font-size="12">{escape(x_title)}</text>'
        f'<text class="axis-title" x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'font-size="12" transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{escape(y_title)}'
        "</text>"
    )
    return parts


def _legend_entry(x: int, y: int, text: str, **swatch: str) -> str:
    # Keyword names as SVG attribute names: stroke_dasharray is stroke-dasharray, class_ class.
    attributes = "".join(
        f" {name.rstrip('_').replace('_', '-')}={quoteattr(value)}"
        for name, value in swatch.items()
    )
    return (
        f'<rect x="{x}" y="{y}" width="12" height="12"{attributes}/>'
        f'<text x="{x + 16}" y="{y + 10}" font-size="12">{escape(text)}</text>'
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    x_title: str = "Month",
    y_title: str = "Records",
) -> str:
    """Grouped bars, one group per label and one bar per series. A value of None draws
    nothing (the series is not shown that month), unless no supply covers the month: then a
    hatched column, with a legend entry that says what it means."""
    counts = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(max([*counts, 1]))
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    months = [s.month(p) for s in series for p in range(len(labels))]
    unsupplied = any(m is not None and not m.supplied for m in months)
    partial = any(m is not None and m.state == MonthCoverage.PARTIAL for m in months)
    hatch_id = f"{chart_id}-no-supply"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby={quoteattr(chart_id + "-title")}>',
        f"<title id={quoteattr(chart_id + '-title')}>{escape(title)}</title>",
    ]
    if unsupplied:
        parts.append(
            f'<defs><pattern id={quoteattr(hatch_id)} width="6" height="6" '
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH}" stroke-width="2"/>'
            "</pattern></defs>"
        )
    parts += _axes(ticks=ticks, labels=labels, x_title=x_title, y_title=y_title)
    for index, name in enumerate(s.name for s in series):
        parts.append(_legend_entry(LEFT + index * 200, 8, name, fill=COLOURS[index % len(COLOURS)]))
    # What the hatching and the dashes mean, under the month labels.
    legend_x = LEFT
    if unsupplied:
        parts.append(
            _legend_entry(legend_x, HEIGHT - 18, NO_SUPPLY_LEGEND, fill=f"url(#{hatch_id})",
                          stroke=HATCH, class_="legend-no-supply")
        )  # fmt: skip
        legend_x += 300
    if partial:
        parts.append(
            _legend_entry(legend_x, HEIGHT - 18, PARTIAL_LEGEND, fill="none", stroke="#0b0c0c",
                          stroke_dasharray="3 2", class_="legend-partial")
        )  # fmt: skip
    for position, label in enumerate(labels):
        group_x = LEFT + position * group_w + group_w * 0.1
        for index, one in enumerate(series):
            value, month = one.values[position], one.month(position)
            x = group_x + index * bar_w
            if month is not None and not month.supplied:
                parts.append(
                    f'<rect class="no-supply" x="{_number(x)}" y="{TOP}" '
                    f'width="{_number(bar_w * 0.9)}" height="{plot_h}" '
                    f"fill={quoteattr(f'url(#{hatch_id})')}>"
                    f"<title>{escape(f'{one.name}, {month_words(label)}: no supply')}</title>"
                    "</rect>"
                )
                continue
            if value is None:
                continue
            height = plot_h * value / top
            y = TOP + plot_h - height
            fill = COLOURS[index % len(COLOURS)]
            dashed = month is not None and month.state == MonthCoverage.PARTIAL
            caption = f"{one.name}, {month_words(label)}: {value}" + (
                f" ({month.note})" if dashed else ""
            )
            parts.append(
                f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(bar_w * 0.9)}" '
                f'height="{_number(height)}" fill={quoteattr(fill)} stroke="#505a5f"'
                + (' stroke-dasharray="3 2" class="partial"' if dashed else "")
                + f"><title>{escape(caption)}</title></rect>"
            )
            parts.append(
                f'<text x="{_number(x + bar_w * 0.45)}" y="{_number(y - 3)}" '
                f'text-anchor="middle" font-size="10">{escape(str(value))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    x_title: str,
    y_title: str,
    unit: str = "",
    top: float | None = None,
) -> str:
    """A line per series over the labels (periods), a point where there is a value and a gap
    where there is none. ``top`` fixes the value axis (100 for percentages)."""
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(top if top is not None else max([*values, 1]))
    high = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby={quoteattr(chart_id + "-title")}>',
        f"<title id={quoteattr(chart_id + '-title')}>{escape(title)}</title>",
        *_axes(ticks=ticks, labels=labels, x_title=x_title, y_title=y_title, unit=unit),
    ]
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(_legend_entry(LEFT + index * 200, 8, one.name, fill=colour))
        # Consecutive values are joined; a period without one leaves a gap.
        runs, run = [], []
        for position, value in enumerate(one.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            x = LEFT + (position + 0.5) * slot
            run.append((x, TOP + plot_h - plot_h * value / high, value, labels[position]))
        if run:
            runs.append(run)
        points = [point for joined in runs for point in joined]
        for joined in runs:
            if len(joined) > 1:
                path = " ".join(f"{_number(x)},{_number(y)}" for x, y, _v, _l in joined)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        for x, y, value, label in points:
            caption = f"{one.name}, {month_words(label)}: {_tick_text(value)}{unit}"
            parts.append(
                f'<circle cx="{_number(x)}" cy="{_number(y)}" r="3.5" fill="{colour}">'
                f"<title>{escape(caption)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
