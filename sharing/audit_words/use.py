"""Sentences of the entries about the use of the data: extracts, requests for personal data,
the workspace, Freedom of Information requests and the document library."""

from hub.choices import IspTier
from sharing.audit_words.phrases import WORKSPACE_VIEWS
from sharing.audit_words.values import (
    Said,
    choice_words,
    count_words,
    date_words,
    list_words,
    pairs_words,
    period_words,
    quoted,
    says,
    size_words,
    value_words,
)
from sharing.choices import (
    AccessLevel,
    DocumentKind,
    ExtractFormat,
    FoiAnswer,
    LegalBasis,
    ProtectiveMarking,
    WorkspaceView,
)


def _reason(s: Said, key: str = "reason") -> str:
    reason = s.get(key)
    return value_words(reason).rstrip(".") if reason else "no reason was recorded"


def _level(value) -> str:
    return choice_words(AccessLevel, value).lower() if value else ""


# -- extracts --------------------------------------------------------------------------------


@says("extract_requested")
def _extract_requested(s: Said) -> str:
    form = choice_words(ExtractFormat, s.get("format")) if s.get("format") else ""
    said = [part for part in (_level(s.get("level")), form) if part]
    sentence = f"{s.who} asked for an extract of {s.dataset()}"
    period = period_words(s.get("period"))
    if period:
        sentence += f", {period}"
    if said:
        sentence += f" ({'; '.join(said)})"
    if s.get("fields"):
        sentence += f", with the fields {list_words(s.get('fields'))}"
    if s.get("linked"):
        sentence += f", linked with {s.dataset(s.get('linked'))}"
    area = s.get("area")
    named = area_named(area) if isinstance(area, dict) else []
    if named:
        sentence += f", in {list_words(named)}"
    elif area:
        sentence += f", in the area {value_words(area)}"
    if s.get("request"):
        sentence += ", under an approved request for personal data"
    return sentence


@says("extract_refused")
def _extract_refused(s: Said) -> str:
    level = _level(s.get("level"))
    what = f"an extract of {s.dataset()}" + (f" ({level})" if level else "")
    fields = s.get("fields")
    asked = f" with the fields {list_words(fields)}" if fields else ""
    return f"{s.who} was refused {what}{asked}: {_reason(s)}"


@says("extract_created")
def _extract_created(s: Said) -> str:
    whom = f" for {s.person(s.get('for'))}" if s.get("for") else ""
    rows = f": {count_words(s.get('rows'), 'row')}" if s.get("rows") is not None else ""
    return f"{s.who} made an extract of {s.dataset()}{whom}{rows}"


@says("extract_failed")
def _extract_failed(s: Said) -> str:
    return f"{s.who} could not make an extract of {s.dataset()}: {_reason(s, 'failure')}"


@says("extract_downloaded")
def _extract_downloaded(s: Said) -> str:
    rows = f" ({count_words(s.get('rows'), 'row')})" if s.get("rows") is not None else ""
    return f"{s.who} downloaded an extract of {s.dataset()}{rows}"


@says("extract_deleted")
def _extract_deleted(s: Said) -> str:
    return f"{s.who} deleted an extract of {s.dataset()}: {_reason(s)}"


@says("extracts_expired")
def _extracts_expired(s: Said) -> str:
    # The boundary is the moment the deletion ran; the ids are in the export's detail.
    s.detail.leave_out("ids", "boundary")
    days = s.get("retention_days")
    kept = f", kept for {count_words(days, 'day')}" if days is not None else ""
    made = f" made for {s.agency}" if s.agency else ""
    return (
        f"{s.who} deleted {count_words(s.get('extracts', 0), 'extract')} of {s.dataset()}{made}"
        f"{kept}, when their time was up"
    )


# -- requests for personal data ----------------------------------------------------------------


def _a_request(s: Said) -> str:
    supplied = f" supplied by {s.agency}" if s.agency else ""
    return f"a request for personal data of {s.dataset()}{supplied}"


@says("data_request_made")
def _data_request_made(s: Said) -> str:
    sentence = f"{s.who} asked for personal data of {s.dataset()}"
    if s.agency:
        sentence += f" supplied by {s.agency}"
    period = period_words(s.get("period"))
    if period:
        sentence += f", {period}"
    if s.get("days") is not None:
        sentence += f", for {count_words(s.get('days'), 'day')}"
    if s.get("legal_basis"):
        sentence += f", under {choice_words(LegalBasis, s.get('legal_basis'))}"
    if s.get("fields"):
        sentence += f"; fields {list_words(s.get('fields'))}"
    if s.get("districts"):
        sentence += f"; districts {list_words(s.get('districts'))}"
    return sentence


def _as(s: Said) -> str:
    role = {"dlo": "the DLO", "caldicott": "the Caldicott Guardian"}.get(s.get("as"))
    return f", as {role}," if role else ""


@says("data_request_approved")
def _data_request_approved(s: Said) -> str:
    return f"{s.who}{_as(s)} approved {_a_request(s)}: {_reason(s)}"


@says("data_request_refused_by_dlo")
def _data_request_refused_by_dlo(s: Said) -> str:
    return f"{s.who}{_as(s)} refused {_a_request(s)}: {_reason(s)}"


@says("data_request_refused")
def _data_request_refused(s: Said) -> str:
    return f"{s.who} could not make {_a_request(s)}: {_reason(s)}"


@says("data_request_decision_refused")
def _data_request_decision_refused(s: Said) -> str:
    return f"{s.who} could not decide {_a_request(s)}: {_reason(s)}"


@says("data_request_ended")
def _data_request_ended(s: Said) -> str:
    return f"{s.who} ended {_a_request(s)}: {_reason(s)}"


@says("data_request_end_refused")
def _data_request_end_refused(s: Said) -> str:
    return f"{s.who} could not end {_a_request(s)}: {_reason(s)}"


# -- the workspace ---------------------------------------------------------------------------

# Filters a sentence says already (the dataset) or that say nothing to a reader.
FILTERS_SAID = {"dataset"}


def _filters(filters) -> str:
    if not isinstance(filters, dict):
        return ""
    rest = {key: value for key, value in filters.items() if key not in FILTERS_SAID}
    return f", filtered by {pairs_words(rest, ', ')}" if rest else ""


@says("workspace_viewed")
def _workspace_viewed(s: Said) -> str:
    view = s.get("view")
    seen = WORKSPACE_VIEWS.get(view) or f"the view {quoted(view)}"
    of = f" of {s.dataset()}" if s.entry.dataset_slug else ""
    sentence = f"{s.who} viewed {seen}{of}{_filters(s.get('filters'))}"
    if s.get("error"):
        sentence += f"; the page said: {value_words(s.get('error')).rstrip('.')}"
    return sentence


@says("explorer_viewed")
def _explorer_viewed(s: Said) -> str:
    level = _level(s.get("level"))
    return f"{s.who} explored {s.dataset()}" + (f" ({level})" if level else "")


@says("map_viewed")
def _map_viewed(s: Said) -> str:
    sentence = f"{s.who} viewed the map of {s.dataset()}"
    period = period_words(s.get("period"))
    if period:
        sentence += f", {period}"
    said = [_level(s.get("level"))]
    if s.get("hexes") is not None:
        said.append(f"{count_words(s.get('hexes'), 'hexagon')} shown")
    said = [part for part in said if part]
    if said:
        sentence += f" ({'; '.join(said)})"
    filters = s.get("filters")
    if isinstance(filters, dict):
        filters = {
            key: value
            for key, value in filters.items()
            if key not in ("period_start", "period_end") or not period
        }
    return sentence + _filters(filters)


@says("map_refused")
def _map_refused(s: Said) -> str:
    of = f" of {s.dataset()}" if s.entry.dataset_slug else ""
    return f"{s.who} was refused the map{of}: {_reason(s)}{_filters(s.get('filters'))}"


@says("query_saved")
def _query_saved(s: Said) -> str:
    params = s.get("params")
    slug = params.get("dataset") if isinstance(params, dict) else None
    view = choice_words(WorkspaceView, s.get("view")) if s.get("view") else "Workspace"
    sentence = f"{s.who} saved a query of the {view[0].lower()}{view[1:]}" + (
        f" of {s.dataset(slug)}" if slug else ""
    )
    if isinstance(params, dict):
        sentence += _filters(params)
    if s.get("shared"):
        sentence += ", shared with their agency"
    return sentence


@says("query_deleted")
def _query_deleted(s: Said) -> str:
    return f"{s.who} deleted the saved query {quoted(s.get('name'))}"


# -- Freedom of Information --------------------------------------------------------------------


def _foi(s: Said) -> str:
    reference = s.get("reference")
    return f"FOI request {value_words(reference)}" if reference else "an FOI request"


@says("foi_recorded")
def _foi_recorded(s: Said) -> str:
    sentence = f"{s.who} recorded {_foi(s)}"
    if s.agency:
        sentence += f", which touches information {s.agency} supplied"
    if s.get("datasets"):
        sentence += f" ({list_words(s.get('datasets'), words=s.dataset)})"
    notified = s.get("notified")
    sentence += f", and told {s.people(notified)}" if notified else "; no DLO could be e-mailed"
    return sentence


@says("foi_answered")
def _foi_answered(s: Said) -> str:
    sentence = f"{s.who} answered the consultation on {_foi(s)}: "
    sentence += choice_words(FoiAnswer, s.get("answer"))
    if s.get("previous"):
        sentence += f" (before: {choice_words(FoiAnswer, s.get('previous')).lower()})"
    return sentence


@says("foi_released")
def _foi_released(s: Said) -> str:
    sentence = f"{s.who} recorded {_foi(s)} as released"
    if s.get("released_on"):
        sentence += f" on {date_words(s.get('released_on'))}"
    if s.get("answer"):
        sentence += f" (the agency's answer: {choice_words(FoiAnswer, s.get('answer')).lower()})"
    if s.get("over_objection"):
        why = s.get("objection_reason")
        sentence += ", over the agency's objection" + (f": {value_words(why)}" if why else "")
    else:
        s.detail.leave_out("objection_reason")
    return sentence


@says("foi_answer_refused")
def _foi_answer_refused(s: Said) -> str:
    return f"{s.who} could not answer the consultation on {_foi(s)}: {_reason(s)}"


@says("foi_release_refused")
def _foi_release_refused(s: Said) -> str:
    return f"{s.who} could not record {_foi(s)} as released: {_reason(s)}"


@says("foi_withdrawn")
def _foi_withdrawn(s: Said) -> str:
    return f"{s.who} recorded {_foi(s)} as withdrawn"


@says("foi_deadline_reminder")
def _foi_deadline_reminder(s: Said) -> str:
    due = date_words(s.get("deadline")) if s.get("deadline") else "its deadline"
    when = "falls due" if s.get("stage") == "due" else "is due soon"
    to = s.people(s.get("to") or [])
    return f"{s.who} reminded {to} that the response to {_foi(s)} {when}, by {due}"


@says("foi_mail_failed")
def _foi_mail_failed(s: Said) -> str:
    subject = f" ({quoted(s.get('subject'))})" if s.get("subject") else ""
    return f"{s.who} could not send an e-mail about an FOI request{subject}: {_reason(s, 'error')}"


# -- the document library ----------------------------------------------------------------------


def _file(s: Said) -> str:
    s.detail.leave_out("sha256")
    file = value_words(s.get("file")) if s.get("file") else ""
    size = size_words(s.get("bytes")) if s.get("bytes") is not None else ""
    return f"{file} ({size})" if file and size else file


@says("document_created")
def _document_created(s: Said) -> str:
    kind = choice_words(DocumentKind, s.get("kind")) if s.get("kind") else ""
    marking = choice_words(ProtectiveMarking, s.get("marking")) if s.get("marking") else ""
    said = ", ".join(part for part in (kind, marking) if part)
    sentence = f"{s.who} added the document {quoted(s.get('title'))}"
    if said:
        sentence += f" ({said})"
    file = _file(s)
    if file:
        sentence += f" from {file}"
    audience = [*(s.get("audience_agencies") or [])]
    tiers = s.get("audience_tiers") or []
    if tiers:
        named = list_words(tiers, words=lambda tier: choice_words(IspTier, tier).lower())
        audience.append(f"{named}-tier agencies")
    if audience:
        sentence += f", for {list_words(audience, words=str)}"
    s.detail.leave_out("version")
    return sentence


@says("document_version_added")
def _document_version_added(s: Said) -> str:
    sentence = f"{s.who} added version {value_words(s.get('version'))} of a document"
    file = _file(s)
    if file:
        sentence += f" from {file}"
    if s.get("note"):
        sentence += f": {value_words(s.get('note'))}"
    return sentence


@says("document_downloaded")
def _document_downloaded(s: Said) -> str:
    s.detail.leave_out("sha256", "file")
    marking = choice_words(ProtectiveMarking, s.get("marking")) if s.get("marking") else ""
    return (
        f"{s.who} downloaded version {value_words(s.get('version'))} of the document "
        f"{quoted(s.get('title'))}" + (f" ({marking})" if marking else "")
    )


@says("document_refused")
def _document_refused(s: Said) -> str:
    file = f" ({value_words(s.get('file'))})" if s.get("file") else ""
    return f"{s.who} was refused a document upload{file}: {_reason(s)}"


AREA_WORDS = {
    "districts": "the postcode district",
    "wards": "the ward",
    "lsoas": "the LSOA",
    "msoas": "the MSOA",
    "local_authorities": "the local authority",
}


def area_named(area: dict) -> list[str]:
    """An extract's areas in words: "the ward E05014989", "the postcode district WN1"."""
    return [f"{words} {code}" for key, words in AREA_WORDS.items() for code in area.get(key) or []]
