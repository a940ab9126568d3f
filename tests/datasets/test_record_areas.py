"""Every record carries the areas of its sanitised postcode (output area, LSOA, MSOA, ward,
local authority): set at load, re-derived with its monthly counts when a new lookup is
imported, and counted by area from the monthly counts exactly as from the records."""

from __future__ import annotations

import datetime
import threading
import zlib
from collections import Counter

import pytest
from django.db import connection, connections, transaction
from django.http import QueryDict

from datasets.areas import records_areas_rederive
from datasets.models import Record, RecordMonthlyCount
from hub.models import Agency
from sanitise.areas import postcode_areas_current
from sanitise.choices import GazetteerKind
from sanitise.demo import demo_gazetteer_load
from sanitise.models import GazetteerVersion, PostcodeAreas, PostcodeCentroid, PostcodeHouseholds
from sanitise.signals import area_lookup_imported
from sharing.workspace.counts import counts_frame
from sharing.workspace.filters import FilterInvalid, workspace_query
from tests.datasets.test_pipeline import OFFENCE_HEADER, csv_bytes, supply, wait_for
from tests.datasets.test_record_counts import a_supply, add_records, assert_in_step

pytestmark = pytest.mark.django_db

# WN1 1AA as the ONS May 2022 postcode lookup and Code-Point Open (2025) place it.
WN1_1AA = {
    "oa_code": "E00032310",
    "lsoa_code": "E01006369",  # Wigan 008C
    "msoa_code": "E02001294",  # Wigan 008
    "ward_code": "E05015010",  # Wigan Central
    "lad_code": "E08000010",  # Wigan
}


def lookup_load(rows: dict[str, dict]) -> GazetteerVersion:
    version = GazetteerVersion.objects.create(
        kind=GazetteerKind.AREA_LOOKUP, source="test", row_count=len(rows)
    )
    PostcodeAreas.objects.all().delete()
    PostcodeAreas.objects.bulk_create(
        PostcodeAreas(postcode=postcode, version=version, **codes)
        for postcode, codes in rows.items()
    )
    return version


def district_codes(postcode: str) -> dict:
    """Made-up areas for other postcodes: a ward per district, an LSOA per sector."""
    district, sector = postcode.split(" ")[0], postcode[:-2].replace(" ", "")
    return {
        "oa_code": f"E00{zlib.crc32(postcode.encode()) % 10**6:06d}",
        "lsoa_code": f"E01{sector[-6:]:0>6}"[:9],
        "msoa_code": f"E02{district[-6:]:0>6}"[:9],
        "ward_code": f"E05{district[-6:]:0>6}"[:9],
        "lad_code": "E08000010",
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_loaded_record_takes_the_areas_of_its_sanitised_postcode(
    api_client, personas, celery_worker_process
):
    demo_gazetteer_load()
    PostcodeHouseholds.objects.filter(postcode="WN1 1AA").update(households=12)
    every = PostcodeCentroid.objects.filter(area="WN").values_list("postcode", flat=True)
    # Every postcode, since a record in a postcode of fewer than four households moves.
    lookup_load({pc: WN1_1AA if pc == "WN1 1AA" else district_codes(pc) for pc in every})
    postcodes = ["WN1 1AA", *list(every)[:40]]
    rows = [
        [f"CR{n:05d}", "28E", f"{n % 28 + 1:02d}/10/2026", "22:30", "", postcode, "", "", "N"]
        for n, postcode in enumerate(postcodes[:12], start=1)
    ]
    supply_id = wait_for(
        api_client,
        supply(api_client, personas["police_supplier"], csv_bytes(OFFENCE_HEADER, rows)),
    )["id"]

    records = Record.objects.filter(supply_id=supply_id)
    assert records.count() == 12
    wigan_central = records.get(row_number=2)
    assert wigan_central.postcode == "WN1 1AA"
    assert {c: getattr(wigan_central, c) for c in WN1_1AA} == WN1_1AA
    lookup = {row.postcode: row for row in PostcodeAreas.objects.all()}
    for record in records:
        assert record.ward_code == lookup[record.postcode].ward_code
        assert record.lsoa_code == lookup[record.postcode].lsoa_code
    # The monthly counts hold the areas too.
    assert RecordMonthlyCount.objects.filter(
        supply_id=supply_id, ward_code=WN1_1AA["ward_code"], lsoa_code=WN1_1AA["lsoa_code"]
    ).exists()
    assert_in_step()


def test_a_new_lookup_re_derives_stored_records_and_their_counts(personas):
    lookup_load({"WN1 1AA": district_codes("WN1 1AA"), "WN2 2BB": district_codes("WN2 2BB")})
    supply_row = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(supply_row, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 3)
    add_records(supply_row, [(datetime.date(2026, 5, 3), "WN2 2BB"), (None, "")])
    # Stored before any lookup: no areas yet. The import's signal back-fills them.
    assert set(Record.objects.values_list("ward_code", flat=True)) == {""}

    version = lookup_load({"WN1 1AA": WN1_1AA, "WN2 2BB": district_codes("WN2 2BB")})
    area_lookup_imported.send(sender=PostcodeAreas, version=version)

    assert Record.objects.filter(postcode="WN1 1AA").values(*WN1_1AA)[0] == WN1_1AA
    assert Record.objects.get(postcode="").ward_code == ""
    assert_in_step()
    central = RecordMonthlyCount.objects.get(ward_code=WN1_1AA["ward_code"])
    assert central.count == 3

    # A later lookup that drops a postcode leaves its records in no area, not the old one.
    version = lookup_load({"WN1 1AA": WN1_1AA})
    area_lookup_imported.send(sender=PostcodeAreas, version=version)
    assert Record.objects.get(postcode="WN2 2BB").ward_code == ""
    assert_in_step()
    assert records_areas_rederive() == 0  # nothing left to change


def test_counts_by_ward_and_lsoa_read_the_same_from_monthly_counts_and_records(personas):
    lookup_load({"WN1 1AA": WN1_1AA, "WN2 2BB": district_codes("WN2 2BB")})
    supply_row = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(supply_row, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 4)
    add_records(supply_row, [(datetime.date(2026, 5, 9), "WN2 2BB")] * 2)
    add_records(supply_row, [(datetime.date(2026, 5, 9), "")])
    records_areas_rederive()
    workspace = workspace_query(
        user=personas["analyst"],
        params=QueryDict(
            "dataset=police_crime_offence&period_start=2026-05-01&period_end=2026-05-31"
        ),
        route="test",
    )
    for kind, column in (("ward", "ward_code"), ("lsoa", "lsoa_code")):
        summary = counts_frame(workspace.query, None, area_kind=kind)
        from_records = workspace.query.counts(None, area_kind=kind)
        expected = Counter(getattr(r, column) or "(no area known)" for r in Record.objects.all())
        for frame in (summary, from_records):
            assert dict(zip(frame["area"], frame["count"], strict=True)) == expected


def test_an_area_filter_takes_codes_and_names_and_refuses_an_unknown_area(personas):
    from sanitise.models import Area

    demo_gazetteer_load()  # the postcode districts
    version = lookup_load({"WN1 1AA": WN1_1AA, "WN2 2BB": district_codes("WN2 2BB")})
    Area.objects.create(code=WN1_1AA["ward_code"], kind="ward", name="Wigan Central",
                        lad_code="E08000010", version=version)  # fmt: skip
    Area.objects.create(code=WN1_1AA["lsoa_code"], kind="lsoa", name="Wigan 008C",
                        lad_code="E08000010", version=version)  # fmt: skip
    supply_row = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(supply_row, [(datetime.date(2026, 5, 2), "WN1 1AA")] * 4)
    add_records(supply_row, [(datetime.date(2026, 5, 9), "WN2 2BB")] * 2)
    records_areas_rederive()

    def counted(areas: str) -> int:
        workspace = workspace_query(
            user=personas["analyst"],
            params=QueryDict(
                "dataset=police_crime_offence&period_start=2026-05-01&period_end=2026-05-31"
                f"&areas={areas}"
            ),
            route="test",
        )
        return int(workspace.query.counts(None)["count"].sum())

    assert counted("Wigan Central") == 4
    assert counted("E05015010") == 4
    assert counted("wigan 008c") == 4
    assert counted("WN2") == 2
    assert counted("Wigan Central,WN2") == 6  # any of the areas named
    with pytest.raises(FilterInvalid) as refused:
        counted("Wigan Centrall")
    assert "Did you mean: Wigan Central (ward E05015010)?" in str(refused.value)
    with pytest.raises(FilterInvalid):
        counted("E05000001")  # a ward, but not one of the partnership's


def test_a_postcode_outside_the_partnerships_authorities_and_postcode_areas_gives_no_area(
    personas,
):
    bolton = {**district_codes("BL1 1AA"), "lad_code": "E08000001"}
    leigh = {**district_codes("M46 0AA"), "lad_code": "E08000010"}  # Wigan, postcode area M
    lookup_load({"WN1 1AA": WN1_1AA, "BL1 1AA": bolton, "M46 0AA": leigh})
    supply_row = a_supply(personas, period_start=datetime.date(2026, 5, 1))
    add_records(supply_row, [(datetime.date(2026, 5, 2), pc) for pc in ("BL1 1AA", "M46 0AA")])
    records_areas_rederive()

    assert Record.objects.get(postcode="BL1 1AA").ward_code == ""
    assert Record.objects.get(postcode="M46 0AA").ward_code == leigh["ward_code"]
    # The load reads the same part of the lookup.
    lookup = postcode_areas_current(local_authorities=["E08000010"], postcode_areas=["WN"])
    assert sorted(lookup.index) == ["M46 0AA", "WN1 1AA"]


@pytest.mark.django_db(transaction=True)
def test_a_re_derivation_waits_for_a_load_in_progress_rather_than_recount_beside_it(personas):
    partnership_id = Agency.objects.get(name="Greater Manchester Police (Wigan)").partnership_id
    done = threading.Event()

    def rederive():
        try:
            records_areas_rederive()
        finally:
            connections.close_all()
            done.set()

    # A load holds its partnership's lock until it commits.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [partnership_id])
        threading.Thread(target=rederive).start()
        assert not done.wait(1.0)
    assert done.wait(30)
