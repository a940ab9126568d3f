"""Charts have round ticks, gridlines, titled axes and months in words; the quality dashboard
draws each agency's trends."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

import pytest

from datasets.charts import Series, bar_chart, line_chart, nice_ticks
from datasets.models import Dataset
from datasets.selectors import period_words
from hub.words import month_words
from tests.conftest import sign_in, supply_row
from tests.hub import owned

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - the chart just drawn here


def texts(svg: ET.Element, kind: str) -> list[str]:
    return [e.text for e in svg.iter(SVG + "text") if e.get("class") == kind]


@pytest.mark.parametrize(
    ("top", "ticks"),
    [(734, [0, 200, 400, 600, 800]), (9, [0, 2, 4, 6, 8, 10]), (1, [0, 1]),
     (100, [0, 20, 40, 60, 80, 100]), (12_345, [0, 2500, 5000, 7500, 10000, 12500]), (0, [0, 1])],
)  # fmt: skip
def test_ticks_are_round_and_reach_the_top(top, ticks):
    assert nice_ticks(top) == ticks


def test_months_and_periods_are_in_words():
    assert month_words("2026-08") == "August 2026" and month_words("WN1") == "WN1"
    assert period_words(datetime.date(2026, 8, 1), datetime.date(2026, 8, 31)) == "August 2026"
    assert (
        period_words(datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
        == "July to September 2026"
    )
    assert (
        period_words(datetime.date(2026, 8, 3), datetime.date(2026, 8, 9))
        == "03/08/2026 to 09/08/2026"
    )


def test_a_bar_chart_has_ticks_gridlines_and_titled_axes():
    svg = parsed(
        bar_chart(
            chart_id="c",
            title="Offences",
            labels=["2026-07", "2026-08"],
            series=[Series("Police", [734, 512])],
        )  # fmt: skip
    )

    assert texts(svg, "tick") == ["0", "200", "400", "600", "800"]
    assert len([line for line in svg.iter(SVG + "line") if line.get("class") == "grid"]) == 5
    assert texts(svg, "label") == ["July 2026", "August 2026"]
    assert texts(svg, "axis-title") == ["Month", "Records"]


def test_many_months_are_turned_to_fit():
    labels = [f"2026-{month:02d}" for month in range(1, 13)]
    svg = parsed(bar_chart(chart_id="c", title="t", labels=labels, series=[Series("P", [1] * 12)]))
    turned = [e for e in svg.iter(SVG + "text") if e.get("class") == "label"]
    assert all(e.get("transform", "").startswith("rotate(-35") for e in turned)


def test_a_line_chart_joins_periods_and_leaves_a_gap_where_there_is_no_value():
    svg = parsed(
        line_chart(
            chart_id="q", title="Quality", labels=["A", "B", "C", "D"],
            series=[Series("Located", [90.0, 95.5, None, 99.0])],
            x_title="Period supplied", y_title="Per cent", unit="%", top=100,
        )
    )  # fmt: skip

    [joined] = list(svg.iter(SVG + "polyline"))
    assert len(joined.get("points").split()) == 2  # A and B; D stands alone after the gap
    assert [c.find(SVG + "title").text for c in svg.iter(SVG + "circle")] == [
        "Located, A: 90%", "Located, B: 95.5%", "Located, D: 99%",
    ]  # fmt: skip
    assert texts(svg, "tick")[-1] == "100%"


@pytest.mark.django_db
def test_the_quality_dashboard_draws_each_agencys_trend(client, personas):
    police = owned.agency(owned.POLICE)
    for month, rejected in ((8, 10), (9, 5)):
        supply_row(
            agency=police, uploaded_by=personas["police_supplier"],
            dataset=Dataset.objects.get(slug="police_crime_offence"), status="completed",
            period_start=datetime.date(2026, month, 1),
            period_end=datetime.date(2026, month + 1, 1) - datetime.timedelta(days=1),
            record_count=100, rejected_count=rejected, report={"completeness": {}},
        )  # fmt: skip
    sign_in(client, personas["coordinator"])

    page = client.get("/governance/quality/").content.decode()

    svg = parsed(page[page.index("<svg") : page.index("</svg>") + 6])
    assert svg.find(SVG + "title").text.startswith("Greater Manchester Police (Wigan): ")
    assert texts(svg, "label") == ["August 2026", "September 2026"]
    circles = [c.find(SVG + "title").text for c in svg.iter(SVG + "circle")]
    assert "Rows rejected, August 2026: 10%" in circles
    assert "Rows rejected, September 2026: 5%" in circles
