"""The Vulnerable Localities Index (sharing.workspace.vli), worked by hand. No database."""

import math

import pandas as pd
import pytest

from sharing.workspace.vli import (
    METHOD_TEXT,
    STANDARD_INDICATORS,
    ExtraIndicator,
    vli_scores,
)

# Four areas. The partnership as one area: 2,000 households, 4,000 residents.
#
#                      A        B        C        D      total   partnership rate
# households          500      400      600      500     2,000
# residents         1,000    1,000    1,500      500     4,000
# burglary dwelling    30        2       15        3        50   25 per 1,000 households
# crim. damage dwel.   24        2       12        2        40   20 per 1,000 households
# aged 15-24          400       50      300       50       800   20% of residents
# income score       0.45    0.025      0.2     0.05             residents x score:
#                     450       25      300       25       800   800 / 4,000 = 0.2
# employment score    0.2    0.025      0.1     0.05             residents x score:
#                     200       25      150       25       400   400 / 4,000 = 0.1
# education score      40        5       20       10             residents x score:
#                  40,000    5,000   30,000    5,000    80,000   80,000 / 4,000 = 20
#
# Rates, then index = 100 x rate / partnership rate:
# burglary per 1,000 hh   A 60 -> 240   B 5 -> 20     C 25 -> 100   D 6 -> 24
# damage per 1,000 hh     A 48 -> 240   B 5 -> 25     C 20 -> 100   D 4 -> 20
# income %                A 45 -> 225   B 2.5 -> 12.5 C 20 -> 100   D 5 -> 25
# employment %            A 20 -> 200   B 2.5 -> 25   C 10 -> 100   D 5 -> 50
# aged 15-24 %            A 40 -> 200   B 5 -> 25     C 20 -> 100   D 10 -> 50
# education score         A 40 -> 200   B 5 -> 25     C 20 -> 100   D 10 -> 50
#
# VLI = mean of the six indices:
# A (240 + 240 + 225 + 200 + 200 + 200) / 6 = 1305 / 6 = 217.5    over 200: a priority
# B (20 + 25 + 12.5 + 25 + 25 + 25) / 6     = 132.5 / 6 = 22.083...
# C 600 / 6 = 100                                                 at the partnership average
# D (24 + 20 + 25 + 50 + 50 + 50) / 6       = 219 / 6 = 36.5
COLUMNS = ["burglary_dwelling", "criminal_damage_dwelling", "households", "population",
           "population_15_24", "income_score", "employment_score", "education_score"]  # fmt: skip
ROWS = {
    "A": [30, 24, 500, 1000, 400, 0.45, 0.2, 40],
    "B": [2, 2, 400, 1000, 50, 0.025, 0.025, 5],
    "C": [15, 12, 600, 1500, 300, 0.2, 0.1, 20],
    "D": [3, 2, 500, 500, 50, 0.05, 0.05, 10],
}
RATES = {
    "burglary_dwelling": {"A": 60, "B": 5, "C": 25, "D": 6},
    "criminal_damage_dwelling": {"A": 48, "B": 5, "C": 20, "D": 4},
    "income_score": {"A": 45, "B": 2.5, "C": 20, "D": 5},
    "employment_score": {"A": 20, "B": 2.5, "C": 10, "D": 5},
    "population_15_24": {"A": 40, "B": 5, "C": 20, "D": 10},
    "education_score": {"A": 40, "B": 5, "C": 20, "D": 10},
}
INDICES = {
    "burglary_dwelling": {"A": 240, "B": 20, "C": 100, "D": 24},
    "criminal_damage_dwelling": {"A": 240, "B": 25, "C": 100, "D": 20},
    "income_score": {"A": 225, "B": 12.5, "C": 100, "D": 25},
    "employment_score": {"A": 200, "B": 25, "C": 100, "D": 50},
    "population_15_24": {"A": 200, "B": 25, "C": 100, "D": 50},
    "education_score": {"A": 200, "B": 25, "C": 100, "D": 50},
}
VLI = {"A": 217.5, "B": 132.5 / 6, "C": 100.0, "D": 36.5}


def partnership(**more_rows: list) -> pd.DataFrame:
    return pd.DataFrame.from_dict({**ROWS, **more_rows}, orient="index", columns=COLUMNS)


def test_every_rate_index_and_vli_is_as_worked_by_hand():
    scores = vli_scores(partnership())

    for name in RATES:
        assert scores[f"{name}_rate"].to_dict() == pytest.approx(RATES[name])
        assert scores[f"{name}_index"].to_dict() == pytest.approx(INDICES[name])
    assert scores["vli"].to_dict() == pytest.approx(VLI)
    assert list(scores.index) == ["A", "C", "D", "B"]  # most vulnerable first
    assert scores["rank"].tolist() == [1, 2, 3, 4]
    assert scores["priority"].tolist() == [True, False, False, False]
    assert scores["missing"].tolist() == ["", "", "", ""]


def test_an_area_at_the_partnership_average_indexes_exactly_100():
    scores = vli_scores(partnership())

    at_average = scores.loc["C", [f"{i.name}_index" for i in STANDARD_INDICATORS]]
    assert at_average.tolist() == pytest.approx([100.0] * 6, abs=1e-9)
    assert scores.loc["C", "vli"] == pytest.approx(100.0, abs=1e-9)


def test_a_partnership_of_one_area_is_its_own_average():
    scores = vli_scores(partnership().loc[["D"]])

    assert scores.loc["D", "vli"] == pytest.approx(100.0, abs=1e-9)


def test_the_partnership_rate_is_all_records_over_all_households_not_a_mean_of_rates():
    # A: 2 in 100 households = 20 per 1,000; B: 8 in 900 = 8.9 per 1,000. The partnership:
    # 10 in 1,000 = 10 per 1,000, so A indexes 200. (The mean of the rates, 14.4, would give
    # 138.5: a small area would weigh as much as a large one.)
    areas = partnership().iloc[:2].set_axis(["A", "B"])
    areas[["burglary_dwelling", "households"]] = [[2, 100], [8, 900]]

    scores = vli_scores(areas)

    assert scores.loc["A", "burglary_dwelling_index"] == pytest.approx(200.0)
    assert scores.loc["B", "burglary_dwelling_index"] == pytest.approx(100 * (8 / 900) / 0.01)


def test_an_extra_indicator_enters_the_mean_with_its_weight():
    # Fires per 1,000 households, weight 2: A 5 -> 10, B 8 -> 20, C 6 -> 10, D 1 -> 2; the
    # partnership 20 in 2,000 = 10, so indices A 100, B 200, C 100, D 20. It counts twice:
    # VLI = (sum of the six + 2 x fires) / 8.
    # A (1305 + 200) / 8 = 188.125, no longer a priority; B (132.5 + 400) / 8 = 66.5625;
    # C (600 + 200) / 8 = 100; D (219 + 40) / 8 = 32.375.
    fires = ExtraIndicator(
        name="fires", title="Fires per 1,000 households", denominator="households", weight=2,
        counts=pd.Series({"A": 5, "B": 8, "C": 6, "D": 1}),
    )  # fmt: skip

    scores = vli_scores(partnership(), extras=[fires])

    assert scores["fires_rate"].to_dict() == pytest.approx({"A": 10, "B": 20, "C": 10, "D": 2})
    assert scores["fires_index"].to_dict() == pytest.approx({"A": 100, "B": 200, "C": 100, "D": 20})
    expected = {"A": 188.125, "B": 66.5625, "C": 100.0, "D": 32.375}
    assert scores["vli"].to_dict() == pytest.approx(expected)
    assert scores["priority"].tolist() == [False] * 4
    assert list(scores.index) == ["A", "C", "B", "D"]


def test_an_extra_over_residents_is_per_1000_residents():
    # Domestic violence: A 20, B 2, C 15, D 3 = 40 in 4,000 residents = 10 per 1,000.
    # A 20 per 1,000 -> 200, B 2 -> 20, C 10 -> 100, D 6 -> 60. Weight 1: a seventh index.
    # A (1305 + 200) / 7 = 215; D (219 + 60) / 7 = 39.857...
    violence = ExtraIndicator(
        "domestic_violence", "Violence in a domestic setting per 1,000 residents",
        pd.Series({"A": 20, "B": 2, "C": 15, "D": 3}), "population",
    )  # fmt: skip

    scores = vli_scores(partnership(), extras=[violence])

    rates = {"A": 20, "B": 2, "C": 10, "D": 6}
    assert scores["domestic_violence_rate"].to_dict() == pytest.approx(rates)
    assert scores.loc["A", "vli"] == pytest.approx(215.0)
    assert scores.loc["D", "vli"] == pytest.approx(279 / 7)


def test_an_extra_of_weight_0_is_shown_but_does_not_count():
    shown = ExtraIndicator("probation", "Probation clients", pd.Series({"A": 1}), "population", 0)

    scores = vli_scores(partnership(), extras=[shown])

    assert scores.loc["A", "probation_index"] == pytest.approx(400.0)  # 1 / 1,000 v 1 / 4,000
    assert scores["vli"].to_dict() == pytest.approx(VLI)


def test_an_area_an_extra_does_not_name_had_none_and_a_blank_is_missing():
    drugs = ExtraIndicator(
        "drug_clients", "Drug team clients", pd.Series({"A": 4.0, "B": math.nan}), "population"
    )

    scores = vli_scores(partnership(), extras=[drugs])

    assert scores.loc["C", "drug_clients_rate"] == 0.0  # C is not in the counts: none
    assert math.isnan(scores.loc["B", "vli"])
    assert scores.loc["B", "missing"] == "drug_clients"
    # B, of unknown count, leaves the totals: 4 in 3,000 residents. A: 4 in 1,000 -> 300.
    assert scores.loc["A", "drug_clients_index"] == pytest.approx(300.0)


@pytest.mark.parametrize(
    "weight, denominator",
    [(-1, "households"), (math.nan, "households"), (math.inf, "population"), (1, "dwellings")],
)
def test_an_extra_with_a_negative_weight_or_an_unknown_denominator_is_refused(weight, denominator):
    with pytest.raises(ValueError):
        ExtraIndicator("fires", "Fires", pd.Series(dtype=float), denominator, weight)


def test_an_extra_for_an_area_outside_the_partnership_or_of_a_taken_name_is_refused():
    stranger = ExtraIndicator("fires", "Fires", pd.Series({"A": 1, "Z9": 2}), "households")
    taken = ExtraIndicator("households", "Households", pd.Series({"A": 1}), "households")

    with pytest.raises(ValueError, match="Z9"):
        vli_scores(partnership(), extras=[stranger])
    with pytest.raises(ValueError, match="name"):
        vli_scores(partnership(), extras=[taken])


def test_an_area_without_households_or_residents_has_no_vli_and_says_why():
    # E has neither: every indicator of E is blank, and E's burglary is in no total, so the
    # other areas score as before.
    scores = vli_scores(partnership(E=[1, 1, 0, math.nan, 0, 0.1, 0.1, 10]))

    assert list(scores.index) == ["A", "C", "D", "B", "E"]  # no VLI: last
    assert math.isnan(scores.loc["E", "vli"])
    assert scores.loc["E", "missing"] == "households, population"
    assert pd.isna(scores.loc["E", "priority"]) and pd.isna(scores.loc["E", "rank"])
    assert scores.loc[list("ABCD"), "vli"].to_dict() == pytest.approx(VLI)


def test_an_area_without_households_keeps_its_other_indices_but_has_no_vli():
    scores = vli_scores(partnership(E=[0, 0, 0, 1000, 200, 0.2, 0.1, 20]))

    assert math.isnan(scores.loc["E", "burglary_dwelling_index"])
    assert scores.loc["E", "income_score_index"] > 0
    assert math.isnan(scores.loc["E", "vli"])
    assert scores.loc["E", "missing"] == "households"


def test_a_blank_score_leaves_the_vli_blank_rather_than_0():
    scores = vli_scores(partnership(E=[1, 1, 100, 200, 40, math.nan, 0.1, 10]))

    assert math.isnan(scores.loc["E", "income_score_index"])
    assert math.isnan(scores.loc["E", "vli"])
    assert scores.loc["E", "missing"] == "income_score"


def test_an_indicator_with_no_records_anywhere_has_no_index():
    areas = partnership()
    areas["criminal_damage_dwelling"] = 0

    scores = vli_scores(areas)

    assert scores["vli"].isna().all()
    assert set(scores["missing"]) == {"criminal_damage_dwelling (none in the partnership)"}


def test_equal_vlis_share_a_rank_and_go_in_area_code_order():
    scores = vli_scores(partnership(E=ROWS["C"]).loc[["E", "A", "C"]])

    assert list(scores.index) == ["A", "C", "E"]
    assert scores["rank"].tolist() == [1, 2, 2]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda areas: areas.drop(columns="households"), "households"),
        (lambda areas: areas.assign(burglary_dwelling=-1), "negative"),
        (lambda areas: areas.assign(income_score=45.0), "percentages"),
        (lambda areas: pd.concat([areas, areas.iloc[:1]]), "once"),
    ],
)
def test_inputs_it_cannot_score_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        vli_scores(change(partnership()))


def test_no_areas_score_as_an_empty_table():
    scores = vli_scores(partnership().iloc[:0])

    assert scores.empty
    assert {"vli", "priority", "rank", "missing"} <= set(scores.columns)


def test_the_method_text_cites_the_paper_and_the_rule():
    assert "Chainey, 2008" in METHOD_TEXT
    assert "over 200" in METHOD_TEXT
    assert "100" in METHOD_TEXT
