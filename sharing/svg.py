"""Charts drawn on the server as SVG: no script on the page (the CSP allows none inline) and
nothing for the browser to compute. Every label passes through escape() or quoteattr(), so
the returned markup can be embedded in a page as it is.

A month no current supply covers is drawn as a hatched column, not as a bar of 0 (there is
nothing to count, which is not a count of none), with a legend entry saying so; a month only
partly supplied has its bar outlined in dashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from datasets.choices import MonthCoverage
from datasets.coverage import MonthSupply

# Colour-blind-safe (Okabe–Ito) colours for up to three series.
COLOURS = ("#0072b2", "#d55e00", "#009e73")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 36, 56
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


def bar_chart(*, chart_id: str, title: str, labels: list[str], series: list[Series]) -> str:
    """Grouped bars, one group per label and one bar per series. A value of None draws
    nothing (the series is not shown that month), unless no supply covers the month: then a
    hatched column, with a legend entry that says what it means."""
    counts = [v for s in series for v in s.values if v is not None]
    top = max([*counts, 1])
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
    parts += [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#0b0c0c"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for index, name in enumerate(s.name for s in series):
        x = LEFT + index * 200
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="18" font-size="12">{escape(name)}</text>'
        )
    # What the hatching and the dashes mean, under the month labels.
    legend_x = LEFT
    if unsupplied:
        parts.append(
            _legend_entry(legend_x, HEIGHT - 22, NO_SUPPLY_LEGEND, fill=f"url(#{hatch_id})",
                          stroke=HATCH, class_="legend-no-supply")
        )  # fmt: skip
        legend_x += 300
    if partial:
        parts.append(
            _legend_entry(legend_x, HEIGHT - 22, PARTIAL_LEGEND, fill="none", stroke="#0b0c0c",
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
                    f"<title>{escape(f'{one.name}, {label}: no supply')}</title></rect>"
                )
                continue
            if value is None:
                continue
            height = plot_h * value / top
            y = TOP + plot_h - height
            fill = COLOURS[index % len(COLOURS)]
            dashed = month is not None and month.state == MonthCoverage.PARTIAL
            caption = f"{one.name}, {label}: {value}" + (f" ({month.note})" if dashed else "")
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
        parts.append(
            f'<text x="{_number(LEFT + (position + 0.5) * group_w)}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
