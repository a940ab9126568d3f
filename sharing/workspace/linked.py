"""The linked crime view: offences with their victims and offenders, and repeat locations,
every count released by sharing.disclosure for the datasets each section draws on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from django.http import QueryDict
from psycopg2 import sql

from datasets import selectors as dataset_selectors
from datasets.models import Dataset, Record
from datasets.storage import field_sql, field_text_sql
from hub.access import refuse
from hub.models import User
from sharing.access import AccessDecision, access_decisions, acting_partnership
from sharing.choices import AccessLevel
from sharing.disclosure import Release, counts_note, release_of, released
from sharing.records import ExtractQuery, linkable
from sharing.workspace.counts import (
    AGE_BANDS,
    AGE_NOT_GIVEN,
    OFFENCE_GROUPS,
    OFFENCES,
    OFFENDERS,
    OTHER_OFFENCES,
    VICTIMS,
    VIOLENCE,
    Table,
    age_bands,
    fetch,
    offence_groups,
    plain,
    released_table,
)
from sharing.workspace.filters import (
    WorkspaceQuery,
    partnership_chosen,
    workspace_query,
)

OFFENDER_BANDS = ["2 offences", "3 offences", "4 offences", "5 or more offences"]

REPEAT_LOCATION_MIN = 3

# -- the linked crime view --------------------------------------------------------------------


@dataclass
class LinkedSection:
    """One part of the linked view: its table, or why it is not shown."""

    title: str
    refusal: str = ""
    no_supplies: str = ""
    table: Table | None = None
    label: str = ""


@dataclass
class LinkedView:
    offences: Dataset
    workspace: WorkspaceQuery | None
    sections: list[LinkedSection] = field(default_factory=list)
    release: Release | None = None  # the least of the shown sections' releases

    @property
    def note(self) -> str:
        """How the counts shown were released (sharing.disclosure)."""
        return counts_note(self.release) if self.release else ""


def _needs_records(dataset: Dataset, decision: AccessDecision) -> str:
    """Why a section needing the dataset's records is not shown, or "" when it may be."""
    if decision.allows(AccessLevel.DEPERSONALISED):
        return ""
    return f"It needs depersonalised records of {dataset.name}: {decision.reason}"


def _link_key(linked: Dataset, main: Dataset) -> str:
    (key,), _ = next(link for link in linked.schema.links if link[1] == main.slug)
    return key


def _joined(query: ExtractQuery, linked: Dataset) -> tuple[sql.Composable, sql.Composable, dict]:
    """The join of the offences (r) to a linked file's current records (v), and the WHERE."""
    where, params = query._where()
    join = sql.SQL("{records} r JOIN {records} v ON {on}").format(
        records=sql.Identifier(Record._meta.db_table), on=query.link_on(linked)
    )
    return join, where, {**params, "linked": linked.pk}


def victims_by_age_and_offence(*, query: ExtractQuery, victims: Dataset, release: Release) -> Table:
    """Victims of the offences by age band × offence group, with totals."""
    join, where, params = _joined(query, victims)
    frame = fetch(
        sql.SQL(
            "SELECT {code}, {age}, count(*), sum(v.record_key) FROM {join} WHERE {where} "
            "GROUP BY 1, 2"
        ).format(
            code=field_sql("r", "ho_offence_code"),
            age=field_text_sql("v", "age"),
            join=join,
            where=where,
        ),
        params,
        ["code", "age", "count", "key_sum"],
    )
    frame = pd.DataFrame(
        {
            "area": age_bands(frame["age"]),
            "category": offence_groups(frame["code"]),
            "count": frame["count"].astype(int),
            "key_sum": frame["key_sum"].astype(int),
        }
    )
    rows = [label for _, label in AGE_BANDS]
    if (frame["area"] == AGE_NOT_GIVEN).any():
        rows.append(AGE_NOT_GIVEN)
    columns = [g for g in [*OFFENCE_GROUPS, OTHER_OFFENCES] if g in set(frame["category"])]
    return released_table(frame, rows=rows, columns=columns or [VIOLENCE], release=release)


def repeat_locations(*, query: ExtractQuery, release: Release) -> Table:
    """Places with REPEAT_LOCATION_MIN or more offences, most first: postcodes, or postcode
    sectors for a release short of precise (nothing finer than an associate partner's
    extract gives), chosen and ordered by their counts as released."""
    where, params = query._where()
    place = (
        sql.SQL("r.postcode")
        if release.precise
        else sql.SQL("left(r.postcode, length(r.postcode) - 2)")  # "WN1 1AE" → "WN1 1"
    )
    frame = fetch(
        sql.SQL(
            "SELECT {place}, count(*), sum(r.record_key) FROM {records} r "
            "WHERE {where} AND r.postcode <> '' GROUP BY 1"
        ).format(place=place, records=sql.Identifier(Record._meta.db_table), where=where),
        params,
        ["place", "count", "key_sum"],
    )
    frame["shown"] = released(frame["count"], frame["key_sum"], exact=release.exact)
    frame = frame[frame["shown"] >= REPEAT_LOCATION_MIN]
    frame = frame.sort_values(["shown", "place"], ascending=[False, True])
    return Table(
        columns=["Offences"],
        rows=[((p,), [plain(v)]) for p, v in zip(frame["place"], frame["shown"], strict=True)],
    )


def offenders_with_several_offences(
    *, query: ExtractQuery, offenders: Dataset, release: Release
) -> Table:
    """Offenders (by offender_ref) with two or more of the offences, by how many, with
    their total."""
    join, where, params = _joined(query, offenders)
    key = _link_key(offenders, query.dataset)
    frame = fetch(
        sql.SQL(
            "SELECT offences, count(*), sum(record_keys) FROM (SELECT {offender} AS offender, "
            "count(DISTINCT {key}) AS offences, sum(v.record_key) AS record_keys "
            "FROM {join} WHERE {where} AND COALESCE({offender}, '') <> '' GROUP BY 1) "
            "AS per_offender WHERE offences >= 2 GROUP BY 1"
        ).format(
            offender=field_sql("v", "offender_ref"),
            key=field_sql("r", key),
            join=join,
            where=where,
        ),
        params,
        ["offences", "count", "key_sum"],
    )
    bands = np.minimum(frame["offences"].astype(int), 5) - 2
    frame = pd.DataFrame(
        {
            "area": np.array(OFFENDER_BANDS, dtype=object)[bands.to_numpy()],
            "category": "Offenders",
            "count": frame["count"].astype(int),
            "key_sum": frame["key_sum"].astype(int),
        }
    )
    return released_table(frame, rows=OFFENDER_BANDS, columns=["Offenders"], release=release)


def _supplied(query: ExtractQuery, dataset: Dataset) -> bool:
    """Whether any current supply of the dataset covers part of the period."""
    probe = replace(query, dataset=dataset, fields=[], linked=None, linked_fields=[])
    return bool(probe.supplies())


def linked_crime_view(
    *, user: User, params: QueryDict, ip_address: str | None = None
) -> LinkedView:
    """Offences joined with their victim and offender files by crime reference: victims by
    age band × offence group, repeat locations and offenders with several offences. A section
    is shown only to a user with depersonalised records of every dataset it uses; otherwise
    it says why."""
    offences = dataset_selectors.dataset_get(slug=OFFENCES)
    linked = {dataset.slug: dataset for dataset in linkable(offences)}
    partnership = acting_partnership(user=user, partnership=partnership_chosen(params))
    decisions = access_decisions(
        user=user, datasets=[offences, *linked.values()], partnership=partnership
    )
    refused = _needs_records(offences, decisions[offences.pk])
    view = LinkedView(offences=offences, workspace=None)
    if refused:
        refuse(user=user, route="linked", reason=refused, dataset_slug=offences.slug,
               partnership=partnership, ip_address=ip_address)  # fmt: skip
    if decisions[offences.pk].allows(AccessLevel.AGGREGATE):
        view.workspace = workspace_query(
            user=user, params=params, route="linked", dataset=offences, ip_address=ip_address
        )
    query = view.workspace.query if view.workspace else None
    for slug, title, label in [
        (VICTIMS, "Victims by age band and offence group", "Age band"),
        (None, f"Repeat locations: postcodes with {REPEAT_LOCATION_MIN} or more offences",
         "Postcode"),
        (OFFENDERS, "Offenders with several offences", "Offences each"),
    ]:  # fmt: skip
        section = LinkedSection(title=title, label=label)
        view.sections.append(section)
        dataset = linked.get(slug) if slug else None
        if slug and dataset is None:
            section.refusal = "The catalogue holds no file linked to the offences for this."
        section.refusal = section.refusal or refused
        if dataset is not None and not section.refusal:
            section.refusal = _needs_records(dataset, decisions[dataset.pk])
            if section.refusal:
                refuse(
                    user=user, route="linked", reason=section.refusal,
                    dataset_slug=dataset.slug, partnership=partnership, ip_address=ip_address,
                )  # fmt: skip
        if section.refusal:
            continue
        if not _supplied(query, dataset or offences):
            section.no_supplies = (
                f"No current supplies of {(dataset or offences).name} cover the period."
            )
            continue
        release = view.workspace.release
        if dataset is not None:
            release = release.joined(
                release_of(decisions[dataset.pk], tier=view.workspace.scope.tier)
            )
        view.release = release if view.release is None else view.release.joined(release)
        if slug == VICTIMS:
            section.table = victims_by_age_and_offence(
                query=query, victims=dataset, release=release
            )
        elif slug == OFFENDERS:
            section.table = offenders_with_several_offences(
                query=query, offenders=dataset, release=release
            )
        else:
            section.table = repeat_locations(query=query, release=release)
    return view
