import datetime

import pandas as pd
import pytest

from datasets.catalogue import read_catalogue
from datasets.validation import DuplicateTracker, map_header, validate_chunk

SCHEMAS = {schema.slug: schema for schema in read_catalogue()}
MISSING = ["", "NULL", "N/A"]
TODAY = datetime.date(2026, 11, 21)
PERIOD = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


def check(slug, rows: dict):
    frame = pd.DataFrame(rows, dtype=object)
    frame.index = range(2, 2 + len(frame))
    return validate_chunk(frame, SCHEMAS[slug], missing_values=MISSING, today=TODAY, period=PERIOD)


def errors_of(result):
    return sorted(
        zip(result.errors["row"], result.errors["field"], result.errors["code"], strict=True)
    )


def test_headers_match_by_name_alias_or_spacing_and_unknown_columns_are_dropped():
    mapping = map_header(
        [
            "Crime Reference Number",
            "HO offence code",
            "committed  from date",
            "Surname",
            "Lat",
            "Long",
        ],
        SCHEMAS["police_crime_offence"],
    )
    assert mapping.rename == {
        "Crime Reference Number": "crime_ref",
        "HO offence code": "ho_offence_code",
        "committed  from date": "committed_from_date",
    }
    assert mapping.dropped == ["Surname"]
    assert (mapping.latitude, mapping.longitude) == ("Lat", "Long")
    assert mapping.problems == []


def test_a_missing_required_column_is_a_problem_for_the_whole_supply():
    mapping = map_header(["crime_ref", "address"], SCHEMAS["police_crime_offence"])
    (problem,) = mapping.problems
    assert "ho_offence_code, committed_from_date" in problem
    assert "CSV template" in problem


def test_two_columns_meaning_one_field_is_a_problem():
    mapping = map_header(
        ["crime_ref", "Crime ref", "ho_offence_code", "committed_from_date"],
        SCHEMAS["police_crime_offence"],
    )
    assert "both mean crime_ref" in mapping.problems[0]


def test_values_are_typed_and_good_rows_accepted():
    result = check(
        "police_crime_offence",
        {
            "crime_ref": ["CR1"],
            "ho_offence_code": ["028/01"],
            "committed_from_date": ["05/10/2026"],
            "committed_from_time": ["23:15"],
            "flag_domestic": ["Y"],
            "easting": ["358016"],
        },
    )
    assert result.errors.empty
    row = result.accepted.loc[2]
    assert row["committed_from_date"] == pd.Timestamp(2026, 10, 5)
    assert row["committed_from_time"] == "23:15:00"
    assert bool(row["flag_domestic"]) is True
    assert row["easting"] == 358016


def test_each_bad_value_is_reported_with_row_field_code_and_a_message():
    result = check(
        "police_crime_victim",
        {
            "crime_ref": ["CR1", "", "CR3", "CR4", "CR5"],
            "gender": ["Female", "M", "Q", "F", "F"],
            "age": ["34", "200", "x", "30", "30"],
            "date_of_birth": ["", "", "", "31/02/1990", "01/01/2027"],
        },
    )
    assert errors_of(result) == [
        (3, "age", "out_of_range"),
        (3, "crime_ref", "required"),
        (4, "age", "not_a_number"),
        (4, "gender", "not_allowed"),
        (5, "date_of_birth", "not_a_date"),
        (6, "date_of_birth", "future_date"),
    ]
    assert list(result.accepted.index) == [2]
    assert result.accepted.loc[2, "gender"] == "F"
    message = result.errors.set_index(["row", "field"]).loc[(4, "gender"), "message"]
    assert message == "'Q' is not one of: M, F, U."
    assert list(result.rejected.index) == [3, 4, 5, 6]


def test_an_identifying_value_is_never_echoed_in_a_message():
    result = check("police_crime_victim", {"crime_ref": ["CR1"], "date_of_birth": ["12/13/1981"]})
    (message,) = result.errors["message"]
    assert "12/13/1981" not in message
    assert message.startswith("The value is not a date")


def test_dates_after_the_period_are_warned_not_rejected():
    result = check(
        "police_incident",
        {
            "incident_ref": ["I1", "I2"],
            "incident_type": ["ASB", "ASB"],
            "incident_date": ["2026-10-10", "2026-11-05"],
        },
    )
    assert result.errors.empty
    assert list(result.warnings["row"]) == [3]
    assert list(result.warnings["code"]) == ["after_period"]


def test_completeness_counts_values_given_per_field():
    result = check(
        "fire_incident",
        {
            "incident_ref": ["F1", "F2"],
            "incident_type": ["primary fire", "secondary fire"],
            "incident_date": ["2026-10-01", "2026-10-02"],
            "casualties": ["1", ""],
        },
    )
    assert result.filled["casualties"] == 1
    assert result.filled["incident_time"] == 0


def test_repeated_keys_are_caught_across_chunks_pointing_at_the_first_row():
    tracker = DuplicateTracker(("crime_ref",))
    first = pd.DataFrame({"crime_ref": ["A", "B", "A"]}, index=[2, 3, 4])
    second = pd.DataFrame({"crime_ref": ["C", "B"]}, index=[5, 6])

    one = tracker.errors(first)
    two = tracker.errors(second)

    assert list(one["row"]) == [4]
    assert one["message"].iloc[0] == "Repeats the crime_ref of row 2; each must appear once."
    assert list(two["row"]) == [6]
    assert two["message"].iloc[0] == "Repeats the crime_ref of row 3; each must appear once."


@pytest.mark.parametrize("value", ["Y", "yes", "TRUE", "1"])
def test_yes_values_read_as_true(value):
    result = check(
        "police_incident",
        {
            "incident_ref": ["I1"],
            "incident_type": ["x"],
            "incident_date": ["2026-10-10"],
            "flag_domestic": [value],
        },
    )
    assert bool(result.accepted.loc[2, "flag_domestic"]) is True


@pytest.mark.parametrize("value", ["01/01/0001", "0001-01-01", "31/12/9999", "01/01/2500"])
def test_a_date_beyond_any_real_one_rejects_its_row_not_the_supply(value):
    result = check(
        "police_crime_offence",
        {"crime_ref": ["CR1", "CR2"], "ho_offence_code": ["28E", "28E"],
         "committed_from_date": [value, "02/10/2026"]},
    )  # fmt: skip
    assert errors_of(result) == [(2, "committed_from_date", "not_a_date")]
    assert list(result.accepted.index) == [3]
