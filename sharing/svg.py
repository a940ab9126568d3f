"""Charts drawn on the server as SVG: no script on the page (the CSP allows none inline) and
nothing for the browser to compute. Every label passes through escape() or quoteattr(), so
the returned markup can be embedded in a page as it is."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Colour-blind-safe (Okabe–Ito) colours for up to three series.
COLOURS = ("#0072b2", "#d55e00", "#009e73")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 36, 56


@dataclass(frozen=True)
class Series:
    """One series of a chart: a count or None (no data) a month."""

    name: str
    values: list[int | None]


def _number(value: float) -> str:
    return f"{value:.1f}"


def bar_chart(*, chart_id: str, title: str, labels: list[str], series: list[Series]) -> str:
    """Grouped bars, one group per label and one bar per series. A value of None draws
    nothing (the series had no data that month)."""
    counts = [v for s in series for v in s.values if v is not None]
    top = max([*counts, 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby={quoteattr(chart_id + "-title")}>',
        f"<title id={quoteattr(chart_id + '-title')}>{escape(title)}</title>",
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
    for position, label in enumerate(labels):
        group_x = LEFT + position * group_w + group_w * 0.1
        for index, one in enumerate(series):
            value = one.values[position]
            if value is None:
                continue
            x = group_x + index * bar_w
            height = plot_h * value / top
            y = TOP + plot_h - height
            fill = COLOURS[index % len(COLOURS)]
            parts.append(
                f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(bar_w * 0.9)}" '
                f'height="{_number(height)}" fill={quoteattr(fill)} stroke="#505a5f">'
                f"<title>{escape(f'{one.name}, {label}: {value}')}</title></rect>"
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
