"""Small-number suppression, k-anonymity and formula neutralising."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.spreadsheets import neutralise_formulas
from sharing.disclosure import KAnonymity, suppress_counts

THRESHOLD = 10


def counts_frame(cells):
    return pd.DataFrame(cells, columns=["month", "area", "category", "count"])


def _table(result, month):
    shown = result[result["month"] == month].pivot(index="area", columns="category", values="count")
    return shown


def test_small_counts_are_hidden_and_a_lone_hidden_cell_takes_a_partner():
    cells = [
        ("2026-10", "WN1", "burglary", 25), ("2026-10", "WN1", "violence", 3),
        ("2026-10", "WN2", "burglary", 40), ("2026-10", "WN2", "violence", 30),
    ]  # fmt: skip
    result = suppress_counts(counts_frame(cells), THRESHOLD)
    table = _table(result, "2026-10")

    assert table.loc["WN1", "violence"] == "<10"
    # WN1's total would give 3 back from 25, so 25 is hidden too; likewise the column.
    assert table.loc["WN1", "burglary"] == "<10"
    assert table.loc["WN2", "violence"] == "<10"
    assert table.loc["Total", "Total"] == 98


def _hidden(value):
    return value == f"<{THRESHOLD}"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["WN1", "WN2", "WN3", "WN4"]),
            st.sampled_from(["a", "b", "c"]),
            st.integers(min_value=0, max_value=60),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda cell: cell[:2],
    )
)
def test_no_count_under_the_threshold_shows_and_none_can_be_worked_out(cells):
    frame = counts_frame([("2026-10", *cell) for cell in cells])

    result = suppress_counts(frame, THRESHOLD)

    shown = [v for v in result["count"] if not _hidden(v)]
    assert all(v == 0 or v >= THRESHOLD for v in shown)
    table = _table(result, "2026-10")
    for line in [*[table.loc[i] for i in table.index], *[table[c] for c in table.columns]]:
        hidden = sum(_hidden(v) for v in line)
        assert hidden != 1, line.to_dict()
    truth = frame["count"].sum()
    total = table.loc["Total", "Total"]
    assert _hidden(total) or total == truth


def test_rows_in_small_classes_are_generalised_then_suppressed():
    rows = pd.DataFrame(
        {
            "age": ["31"] * 6 + ["32", "33", "34"] + ["70"],
            "gender": ["F"] * 10,
            "postcode": ["WN1 1AA"] * 6 + ["WN1 1AB", "WN1 1AD", "WN1 1AE"] + ["WN5 9ZZ"],
            "easting": ["1"] * 10,
            "northing": ["2"] * 10,
        }
    )
    check = KAnonymity(quasi=["age", "gender", "postcode"], k=3)
    check.learn(iter([rows]))

    out = check.apply(rows)

    assert out.loc[0].tolist() == ["31", "F", "WN1 1AA", "1", "2"]  # a class of six: untouched
    assert out.loc[6, ["age", "postcode"]].tolist() == ["30-34", "WN1 1"]  # three together
    assert pd.isna(out.loc[6, "easting"])  # a sector's coordinates would give the postcode back
    assert out.loc[9, ["age", "gender", "postcode"]].isna().all()  # alone even when generalised
    assert (check.generalised_rows, check.suppressed_rows) == (3, 1)
    classes = out.dropna(subset=["age"]).groupby(["age", "gender", "postcode"]).size()
    assert (classes >= 3).all()


def test_cells_that_would_run_as_formulas_are_neutralised():
    frame = pd.DataFrame(
        {"text": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "fine", None]}
    )
    out = neutralise_formulas(frame)["text"].tolist()
    assert out[:6] == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx"]
    assert out[6] == "fine" and pd.isna(out[7])


def test_one_quasi_identifier_alone_is_checked_too():
    rows = pd.DataFrame(
        {
            "postcode": ["WN1 1AA"] * 5 + ["WN1 1AB", "WN1 1AD", "WN1 1AE", "WN1 1AF", "WN1 1AG"],
            "easting": ["1"] * 10,
            "northing": ["2"] * 10,
        }
    )
    check = KAnonymity(quasi=["postcode"], k=5)
    check.learn(iter([rows]))

    out = check.apply(rows)

    assert out["postcode"].tolist() == ["WN1 1AA"] * 5 + ["WN1 1"] * 5
    assert check.generalised_rows == 5
