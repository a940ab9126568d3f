"""The workspace's filters select exactly the records they describe."""

import pytest
from django.db import connection
from django.http import Http404, QueryDict
from psycopg2 import sql

from datasets.demo import last_month
from datasets.models import Record
from sharing.workspace.filters import FilterInvalid, workspace_query
from tests.records import record_fields

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def count(user, **params) -> int:
    start, end = last_month()
    query = QueryDict(mutable=True)
    query.update({"dataset": "police_crime_offence", "period_start": str(start),
                  "period_end": str(end)})  # fmt: skip
    for name, value in params.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    where, values = workspace_query(user=user, params=query, route="test").query._where()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT count(*) FROM datasets_record r WHERE {}").format(where), values
        )
        return cursor.fetchone()[0]


def test_night_weekends_districts_and_categories_select_what_they_say(supplied):
    analyst = supplied["analyst"]
    records = list(Record.objects.filter(dataset__slug="police_crime_offence"))

    night = [
        r for r in records if r.event_time and (r.event_time.hour >= 21 or r.event_time.hour < 4)
    ]
    assert count(analyst, hour_from="21", hour_to="4") == len(night) > 0
    weekend = [r for r in records if r.event_date.isoweekday() in (6, 7)]
    assert count(analyst, weekdays="6,7") == len(weekend) > 0
    wn1 = [r for r in records if r.postcode.startswith("WN1 ")]
    assert count(analyst, districts="wn1") == len(wn1) > 0
    violence = [r for r in records if record_fields(r)["ho_offence_code"] in ("105A", "105B")]
    assert count(analyst, category="ho_offence_code", values="105A,105B") == len(violence) > 0
    # Codes as a force writes them find the records stored in the normal form.
    assert count(analyst, category="ho_offence_code", values="105/A,0105b") == len(violence)
    assert count(analyst, weekdays=["6", "7"]) == len(weekend)


def test_bad_filters_are_named_and_unseen_datasets_do_not_exist(supplied):
    with pytest.raises(FilterInvalid, match="Days are 1"):
        count(supplied["analyst"], weekdays="8")
    with pytest.raises(FilterInvalid, match="cannot be filtered by 'crime_ref'"):
        count(supplied["analyst"], category="crime_ref", values="x")
    with pytest.raises(Http404):
        count(supplied["police_supplier"])
