"""The workspace's counts, linked crime view and cross-agency comparison show what the records
say: exactly to the analyst who may see the records, perturbed to everyone else."""

import csv
import datetime
import html
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from django.test import Client

from datasets.demo import last_month
from datasets.models import Dataset, Record
from hub.models import AuditEntry
from sanitise.models import PostcodeCentroid, PostcodeHouseholds
from tests.conftest import sign_in
from tests.datasets.test_pipeline import OFFENCE_HEADER, csv_bytes, supply, wait_for
from tests.records import record_fields, records_with

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAGES = ["/workspace/counts/", "/workspace/counts.csv", "/workspace/linked/",
         "/workspace/compare/"]  # fmt: skip
# The demo's offence codes by group, as stored (in their normal form: the demo supplies
# "008N", "028/01", "045/00"), written out here so the test does not reuse the code's map.
VIOLENCE = "Violence against the person"
GROUPS = {"105A": VIOLENCE, "105B": VIOLENCE, "8N": VIOLENCE, "28/1": "Burglary",
          "30/1": "Burglary", "45": "Vehicle offences", "58A": "Criminal damage and arson",
          "49": "Theft"}  # fmt: skip


def period() -> dict:
    start, end = last_month()
    return {"period_start": str(start), "period_end": str(end)}


def client_for(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def table_rows(page: str, marker: str) -> list[list[str]]:
    """The cells of the table that follows ``marker`` in the page, unescaped, row by row."""
    table = re.search(re.escape(marker) + r".*?</table>", page, re.S).group(0)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [
        [html.unescape(cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in rows
    ]


def svg_of(page: str) -> ET.Element:
    # The page is the hub's own response under test, not untrusted input.
    return ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))  # noqa: S314


def assert_no_one_or_two(values) -> None:
    """Perturbed counts are never shown as 1 or 2."""
    small = [v for v in values if str(v) in ("1", "2")]
    assert not small, f"ones and twos shown: {small}"


def district(record) -> str:
    return record.postcode.split(" ")[0] if record.postcode else "(not located)"


def test_counts_equal_the_records_for_the_analyst_who_may_see_them(supplied):
    analyst = supplied["analyst"]
    client = client_for(analyst)
    query = {"dataset": "police_crime_offence", "breakdown": "ho_offence_code", **period()}
    offences = list(Record.objects.filter(dataset__slug="police_crime_offence"))
    month = last_month()[0].strftime("%B %Y")  # as the page writes months
    code_of = {r.pk: record_fields(r)["ho_offence_code"] for r in offences}
    expected = Counter((district(r), code_of[r.pk]) for r in offences)
    by_district = Counter(district(r) for r in offences)

    response = client.get("/workspace/counts/", query)

    assert response.status_code == 200
    page = response.content.decode()
    rows = table_rows(page, 'id="counts-table"')
    header, body = rows[0], rows[1:]
    codes = header[2:-1]
    assert set(codes) == set(code_of.values())
    shown = 0
    for row_month, area, *values in body:
        assert row_month == month
        for code, value in zip([*codes, "Total"], values, strict=True):
            if area == "Total":
                truth = sum(n for (_, c), n in expected.items() if c == code or code == "Total")
            elif code == "Total":
                truth = by_district[area]
            else:
                truth = expected[(area, code)]
            assert int(value) == truth, (area, code)
            shown += 1
    assert shown > 0
    assert body[-1][:2] == [month, "Total"] and int(body[-1][-1]) == len(offences)

    texts = [element.text for element in svg_of(page).iter() if element.text]
    assert str(len(offences)) in texts

    download = client.get("/workspace/counts.csv", query)
    assert download["Content-Type"].startswith("text/csv")
    cells = list(csv.reader(io.StringIO(download.content.decode())))
    # After the labels, whether the month was supplied (its counts are empty where not).
    assert cells[0] == ["month", "postcode_district", "supply", *codes, "Total"]
    # Months as a spreadsheet sorts them (2026-11); the page writes them in words.
    iso_month = last_month()[0].strftime("%Y-%m")
    assert cells[1:] == [[iso_month, area, "supplied", *values] for _label, area, *values in body]

    views = AuditEntry.objects.filter(actor=analyst, action="workspace_viewed")
    assert {entry.detail["view"] for entry in views} == {"counts", "counts.csv"}
    assert views.first().detail["filters"]["breakdown"] == "ho_offence_code"


def test_the_chart_escapes_a_hostile_category_value(supplied, api_client):
    hostile = "<script>x</script>"
    start, end = last_month()
    postcodes = [r.postcode for r in Record.objects.filter(dataset__slug="council_asb")[:12]]
    rows = [[f"EVIL{n:03d}", hostile, f"{start:%d/%m/%Y}", "22:15", postcode]
            for n, postcode in enumerate(postcodes)]  # fmt: skip
    content = csv_bytes(
        ["incident_ref", "incident_type", "incident_date", "incident_time", "postcode"], rows
    )
    supply_id = supply(api_client, supplied["council_supplier"], content, dataset="council_asb",
                       name="asb.csv", period_start=str(start), period_end=str(end))  # fmt: skip
    assert wait_for(api_client, supply_id)["status"] == "completed"

    response = client_for(supplied["analyst"]).get(
        "/workspace/counts/",
        {"dataset": "council_asb", "breakdown": "incident_type", "category": "incident_type",
         "values": hostile, **period()},
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200
    assert hostile not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    svg = svg_of(page)
    assert hostile in "".join(svg.itertext())  # escaped in the markup, whole once parsed
    assert [row[2] for row in table_rows(page, 'id="counts-table"')[:1]] == [hostile]


def test_the_linked_view_matches_victims_joined_by_crime_ref(supplied):
    offences = {
        fields["crime_ref"]: (r, fields)
        for r in Record.objects.filter(dataset__slug="police_crime_offence")
        for fields in [record_fields(r)]
    }
    bands = [(65, "65+"), (50, "50-64"), (35, "35-49"), (25, "25-34"), (16, "16-24"), (0, "0-15")]
    expected = Counter()
    for victim in Record.objects.filter(dataset__slug="police_crime_victim"):
        fields = record_fields(victim)
        offence = offences.get(fields["crime_ref"])
        if offence is not None:
            age = int(fields["age"])
            band = next(label for lower, label in bands if age >= lower)
            _, offence_fields = offence
            expected[(band, GROUPS[offence_fields["ho_offence_code"]])] += 1
    repeat = Counter(r.postcode for r, _ in offences.values() if r.postcode)

    response = client_for(supplied["analyst"]).get("/workspace/linked/", period())

    page = response.content.decode()
    assert response.status_code == 200
    rows = table_rows(page, 'id="linked-1"')
    groups = rows[0][1:-1]
    shown = 0
    for band, *values in rows[1:]:
        for group, value in zip([*groups, "Total"], values, strict=True):
            truth = sum(
                n
                for (b, g), n in expected.items()
                if band in (b, "Total") and group in (g, "Total")
            )
            assert int(value) == truth, (band, group)
            shown += 1
    assert shown > 0
    assert int(rows[-1][-1]) == sum(expected.values())

    assert_repeat_locations(page, repeat)
    offenders = re.search(r'id="linked-3".*?</section>', page, re.S).group(0)
    assert "No current supplies of" in offenders


def assert_repeat_locations(page: str, offences_by_postcode: Counter) -> None:
    repeats = {p: n for p, n in offences_by_postcode.items() if n >= 3}
    if not repeats:
        assert "None in the period." in re.search(r'id="linked-2".*?</section>', page, re.S)[0]
        return
    locations = table_rows(page, 'id="linked-2"')[1:]
    assert {postcode for postcode, _ in locations} == set(repeats)
    for postcode, value in locations:
        assert value == str(repeats[postcode])


def test_repeat_locations_and_offenders_with_several_offences(supplied, api_client):
    police = supplied["police_supplier"]
    start, end = last_month()
    before_end = start - datetime.timedelta(days=1)
    before_start = before_end.replace(day=1)
    demo = list(Record.objects.filter(dataset__slug="police_crime_offence").order_by("id"))
    # Two postcodes no offence has: exactly the repeat minimum at one, one short at the other.
    used = {r.postcode for r in demo}
    fresh = [
        p for p in PostcodeCentroid.objects.filter(
            postcode__startswith="WN6 ",
            postcode__in=PostcodeHouseholds.objects.filter(households__gte=4).values("postcode"),
        ).order_by("postcode").values_list("postcode", flat=True)
        if p not in used
    ][:2]  # fmt: skip
    places = [demo[0].postcode] * 12 + [demo[1].postcode] * 4 + [demo[2].postcode] * 2
    places += [fresh[0]] * 3 + [fresh[1]] * 2
    rows = [[f"PL/{n:03d}", "105A", f"{before_start:%d/%m/%Y}", "23:00", "", p, "", "", "N"]
            for n, p in enumerate(places)]  # fmt: skip
    planted = supply(api_client, police, csv_bytes(OFFENCE_HEADER, rows), name="before.csv",
                     period_start=str(before_start), period_end=str(before_end))  # fmt: skip
    # Twelve offenders with two of the offences each, three with three, one with five.
    refs = [record_fields(r)["crime_ref"] for r in demo]
    links = [[refs[2 * n + k], f"OF{n:03d}"] for n in range(12) for k in range(2)]
    links += [[refs[24 + 3 * n + k], f"OT{n:03d}"] for n in range(3) for k in range(3)]
    links += [[refs[40 + k], "OFIVE"] for k in range(5)] + [[refs[50], "OONCE"]]
    linked = supply(api_client, police, csv_bytes(["crime_ref", "offender_ref"], links),
                    dataset="police_crime_offender", name="offenders.csv",
                    period_start=str(start), period_end=str(end))  # fmt: skip
    assert wait_for(api_client, planted)["status"] == "completed"
    assert wait_for(api_client, linked)["status"] == "completed"
    offences = Record.objects.filter(dataset__slug="police_crime_offence")
    crimes = Counter()
    for offender in Record.objects.filter(dataset__slug="police_crime_offender"):
        crimes[record_fields(offender)["offender_ref"]] += 1
    several = Counter(min(n, 5) for n in crimes.values() if n >= 2)

    response = client_for(supplied["analyst"]).get(
        "/workspace/linked/", {"period_start": str(before_start), "period_end": str(end)}
    )

    page = response.content.decode()
    assert_repeat_locations(page, Counter(r.postcode for r in offences if r.postcode))
    shown = dict(table_rows(page, 'id="linked-2"')[1:])
    assert any(value.isdigit() and int(value) >= 12 for value in shown.values())
    assert shown[fresh[0]] == "3" and fresh[1] not in shown
    rows = {row[0]: row[1] for row in table_rows(page, 'id="linked-3"')[1:]}
    assert several == {2: 12, 3: 3, 5: 1}
    assert rows == {"2 offences": "12", "3 offences": "3", "4 offences": "0",
                    "5 or more offences": "1", "Total": "16"}  # fmt: skip


def test_the_associate_analyst_is_told_why_victims_are_not_shown(supplied):
    victims = Dataset.objects.get(slug="police_crime_victim")

    response = client_for(supplied["associate_analyst"]).get("/workspace/linked/", period())

    page = html.unescape(response.content.decode())
    section = re.search(r'id="linked-1".*?</section>', page, re.S).group(0)
    assert "Not shown." in section
    assert f"It needs depersonalised records of {victims.name}" in section
    assert "Associate partners profile: aggregate" in section
    assert "<table" not in section
    # The offences alone they may read: the repeat locations are not refused.
    assert "Not shown." not in re.search(r'id="linked-2".*?</section>', page, re.S).group(0)


def test_the_comparison_shows_each_series_it_may_as_the_user_may_see_it(supplied):
    month = last_month()[0].strftime("%B %Y")  # as the page writes months
    violence = sum(
        records_with(ho_offence_code=code).filter(dataset__slug="police_crime_offence").count()
        for code in ["105A", "105B", "8N"]
    )
    attendances = records_with(incident_type="assault").filter(dataset__slug="ae_assault").count()

    page = client_for(supplied["analyst"]).get("/workspace/compare/", period()).content.decode()

    rows = table_rows(page, 'id="compare-table"')
    assert rows[0][1:] == ["Police recorded violence", "A&E assault attendances",
                           "Ambulance assault call-outs"]  # fmt: skip
    # The ambulance service supplied nothing: "no supply", which is not a count of 0.
    assert rows[1] == [month, str(violence), str(attendances), "no supply"]
    assert "no supplies" in re.search(r'id="series-ambulance_callout".*?</li>', page).group(0)
    texts = [element.text for element in svg_of(page).iter() if element.text]
    assert str(attendances) in texts and str(violence) in texts

    # Aggregate level on A&E: counted, and only through perturbation.
    response = client_for(supplied["associate_analyst"]).get(
        "/workspace/compare/", {**period(), "districts": "WN1", "hour_from": "21", "hour_to": "4"}
    )
    page = response.content.decode()
    series = re.search(r'id="series-ae_assault".*?</li>', page).group(0)
    assert "shown. Counts are perturbed" in series
    rows = table_rows(page, 'id="compare-table"')
    assert_no_one_or_two(value for row in rows[1:] for value in row[1:])
    # Every count the chart shows (its axis ticks are not counts).
    assert_no_one_or_two(e.text for e in svg_of(page).iter() if e.text and e.get("class") != "tick")


@pytest.mark.parametrize("username", ["lapsed_analyst", "outsider", "police_supplier"])
def test_users_who_may_count_nothing_find_no_pages(personas, username):
    client = client_for(personas[username])
    for url in PAGES:
        assert client.get(url, {"dataset": "police_crime_offence"}).status_code == 404, url


def test_bad_filters_get_a_clear_message(supplied):
    client = client_for(supplied["analyst"])

    days = client.get("/workspace/counts/", {"dataset": "police_crime_offence", "weekdays": "8"})
    breakdown = client.get(
        "/workspace/counts/", {"dataset": "police_crime_offence", "breakdown": "crime_ref"}
    )
    backwards = client.get(
        "/workspace/compare/", {"period_start": "2026-05-01", "period_end": "2026-04-01"}
    )
    hours = client.get("/workspace/linked/", {"hour_from": "night"})
    download = client.get("/workspace/counts.csv", {"dataset": "police_crime_offence",
                                                    "weekdays": "8"})  # fmt: skip

    assert days.status_code == 400 and "Days are 1 (Monday) to 7" in days.content.decode()
    assert "cannot be broken down by &#x27;crime_ref&#x27;" in breakdown.content.decode()
    assert "The period ends before it starts." in backwards.content.decode()
    assert "hours are 0 to 24" in hours.content.decode()
    assert download.status_code == 400 and b"Days are 1" in download.content
