import datetime

import pandas as pd
import pytest

from datasets.catalogue import read_catalogue
from datasets.headers import map_header
from datasets.validation import DuplicateTracker, validate_chunk

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


def offences(codes: list[str]) -> dict:
    return {
        "crime_ref": [f"CR{n}" for n in range(1, len(codes) + 1)],
        "ho_offence_code": codes,
        "committed_from_date": ["02/10/2026"] * len(codes),
    }


# Each police dataset with a Home Office code, and what else a row of it needs.
WITH_HO_CODES = {
    "police_crime_offence": {"committed_from_date": "02/10/2026"},
    "police_detection": {"detection_status": "charged"},
    "police_drug_test": {"test_result": "positive"},
}


@pytest.mark.parametrize("slug", sorted(WITH_HO_CODES))
def test_one_home_office_code_however_written_is_stored_as_one_code(slug):
    codes = ["8N", "008N", "008/N", " 8n ", "028/01", "28.1", "045/00"]
    rows = {"crime_ref": [f"CR{n}" for n in range(len(codes))], "ho_offence_code": codes}
    rows.update({name: [value] * len(codes) for name, value in WITH_HO_CODES[slug].items()})
    result = check(slug, rows)

    assert result.errors.empty
    assert list(result.accepted["ho_offence_code"]) == ["8N"] * 4 + ["28/1"] * 2 + ["45"]
    assert result.warnings.empty


def test_a_code_not_on_the_published_list_loads_with_a_warning_quoting_it_as_supplied():
    result = check("police_crime_offence", offences(["105A", "008z", "801"]))

    assert result.errors.empty
    assert list(result.accepted["ho_offence_code"]) == ["105A", "8Z", "801"]
    assert list(zip(result.warnings["row"], result.warnings["field"], result.warnings["code"],
                    strict=True)) == [(3, "ho_offence_code", "not_in_code_list"),
                                      (4, "ho_offence_code", "not_in_code_list")]  # fmt: skip
    message = result.warnings["message"].iloc[0]
    assert message.startswith("'008z' is not on the published Home Office")
    assert "check the code against the list" in message


def test_what_is_not_a_home_office_code_rejects_its_row():
    result = check("police_crime_offence", offences(["Burglary", "02801", "8N"]))

    assert errors_of(result) == [(2, "ho_offence_code", "not_a_code"),
                                 (3, "ho_offence_code", "not_a_code")]  # fmt: skip
    message = result.errors["message"].iloc[0]
    assert message.startswith("'Burglary' is not a Home Office offence classification code")
    assert list(result.accepted["ho_offence_code"]) == ["8N"]
    assert result.warnings.empty
