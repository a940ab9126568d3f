"""Sentences of the entries about supplies: uploads, the pipeline, schedules and retention."""

from datasets.choices import SupplyFrequency, SupplyStatus
from sharing.audit_words.phrases import STAGE_DOING, STAGE_NEXT
from sharing.audit_words.values import (
    Said,
    choice_words,
    count_words,
    date_words,
    list_words,
    period_words,
    quoted,
    says,
    size_words,
    value_words,
)


def _for_period(s: Said) -> str:
    period = period_words(s.get("period"))
    return f", {period}" if period else ""


def _a_supply(s: Said) -> str:
    """The words 'a supply of Council-recorded ASB from Wigan Council'."""
    return f"a supply of {s.dataset()}{s.of_agency()}"


@says("supply_uploaded")
def _supply_uploaded(s: Said) -> str:
    s.detail.leave_out("sha256")
    size = f" ({size_words(s.get('bytes'))})" if s.get("bytes") is not None else ""
    return f"{s.who} uploaded {value_words(s.get('file'))}{size} for {s.dataset()}{_for_period(s)}"


@says("supply_nil_return")
def _supply_nil_return(s: Said) -> str:
    return f"{s.who} made a nil return (nothing to supply) for {s.dataset()}{_for_period(s)}"


@says("supply_refused")
def _supply_refused(s: Said) -> str:
    what = "a nil return" if s.get("nil_return") else "a supply"
    file = f" ({value_words(s.get('file'))})" if s.get("file") else ""
    reason = value_words(s.get("reason")) if s.get("reason") else "no reason was recorded"
    return f"{s.who} was refused {what} of {s.dataset()}{file}: {reason}"


@says("supply_stage_done")
def _supply_stage_done(s: Said) -> str:
    stage, following = s.get("stage"), s.get("next")
    doing = STAGE_DOING.get(stage) or f"the stage {quoted(stage)} of"
    if following == "completed":
        return f"{s.who} finished {doing} {_a_supply(s)}: {STAGE_NEXT[following]}"
    then = STAGE_NEXT.get(following) or f"passed it on ({choice_words(SupplyStatus, following)})"
    return f"{s.who} finished {doing} {_a_supply(s)} and {then}"


@says("supply_failed")
def _supply_failed(s: Said) -> str:
    doing = STAGE_DOING.get(s.get("stage")) or f"the stage {quoted(s.get('stage'))} of"
    failure = value_words(s.get("failure")) if s.get("failure") else "no reason was recorded"
    return f"{s.who} could not finish {doing} {_a_supply(s)}: {failure}"


@says("supply_rejected")
def _supply_rejected(s: Said) -> str:
    problems = s.get("problems")
    said = "; ".join(value_words(p) for p in problems) if isinstance(problems, list) else ""
    return f"{s.who} rejected {_a_supply(s)}" + (f": {said}" if said else "")


@says("supply_retried")
def _supply_retried(s: Said) -> str:
    stage = s.get("stage")
    at = f", starting again at {choice_words(SupplyStatus, stage).lower()}" if stage else ""
    return f"{s.who} retried a failed {_a_supply(s).removeprefix('a ')}{at}"


@says("supply_withdrawn")
def _supply_withdrawn(s: Said) -> str:
    records = s.get("records")
    held = f" ({count_words(records, 'record')})" if records is not None else ""
    sentence = f"{s.who} withdrew {_a_supply(s)}{held}"
    if s.get("reason"):
        sentence += f": {value_words(s.get('reason')).rstrip('.')}"
    restored = s.get("restored")
    if isinstance(restored, list) and restored:
        earlier = count_words(len(restored), "earlier supply", "earlier supplies")
        sentence += f"; {earlier} of the period {'counts' if len(restored) == 1 else 'count'} again"
    return sentence


@says("supply_rejected_rows_downloaded")
def _supply_rejected_rows_downloaded(s: Said) -> str:
    return f"{s.who} downloaded the rejected rows of {_a_supply(s)}"


def _schedule(frequency, due_day) -> str:
    how = choice_words(SupplyFrequency, frequency).lower() if frequency else "on a schedule"
    return f"{how}, due on day {value_words(due_day)}" if due_day else how


@says("supply_schedule_set")
def _supply_schedule_set(s: Said) -> str:
    sentence = (
        f"{s.who} set {s.agency or 'an agency'}'s supplies of {s.dataset()} to "
        f"{_schedule(s.get('frequency'), s.get('due_day'))}"
    )
    previous = s.get("previous")
    if isinstance(previous, dict) and previous:
        sentence += f" (before: {_schedule(previous.get('frequency'), previous.get('due_day'))})"
    return sentence


@says("supply_reminder_sent")
def _supply_reminder_sent(s: Said) -> str:
    to = s.people(s.get("to") or [])
    period = period_words(s.get("period"))
    due = f", due on {date_words(s.get('due'))}," if s.get("due") else ""
    sentence = (
        f"{s.who} reminded {to} that {s.agency or 'an agency'}'s supply of {s.dataset()}"
        + (f" for {period}" if period else "")
        + f"{due} has not arrived"
    )
    if s.get("no_supplier"):
        sentence += " (the agency has no supplier to remind)"
    return sentence


# -- retention -------------------------------------------------------------------------------


def _before(s: Said) -> str:
    return f" (before {date_words(s.get('boundary'))})" if s.get("boundary") else ""


@says("supply_raw_purged")
def _supply_raw_purged(s: Said) -> str:
    s.detail.leave_out("supplies")
    files = count_words(s.get("files", 0), "supply", "supplies")
    kept = s.get("retention_days")
    after = f" after {count_words(kept, 'day')}" if kept is not None else ""
    return (
        f"{s.who} deleted the uploaded files of {files} of {s.dataset()}{s.of_agency()}"
        f"{after}{_before(s)}"
    )


@says("orphan_uploads_purged")
def _orphan_uploads_purged(s: Said) -> str:
    return f"{s.who} deleted {count_words(s.get('files', 0), 'upload')} that no supply took"


@says("records_purged")
def _records_purged(s: Said) -> str:
    months = s.get("retention_months")
    older = f" older than {count_words(months, 'month')}" if months is not None else ""
    sentence = (
        f"{s.who} deleted {count_words(s.get('records', 0), 'record')} of {s.dataset()}"
        f"{s.of_agency()}{older}{_before(s)}"
    )
    identifying = s.get("identifying")
    if identifying:
        sentence += f", {count_words(identifying, 'record')} of them with identifying fields"
    return sentence


@says("identifying_purged")
def _identifying_purged(s: Said) -> str:
    days = s.get("retention_days")
    older = f" older than {count_words(days, 'day')}" if days is not None else ""
    return (
        f"{s.who} deleted the identifying fields of "
        f"{count_words(s.get('identifying', 0), 'record')} of {s.dataset()}{s.of_agency()}"
        f"{older}{_before(s)}; the depersonalised records stay"
    )


@says("withdrawn_records_deleted")
def _withdrawn_records_deleted(s: Said) -> str:
    return (
        f"{s.who} deleted the {count_words(s.get('records', 0), 'record')} of a withdrawn "
        f"{_a_supply(s).removeprefix('a ')}"
    )


def _retention(values) -> str:
    if not isinstance(values, dict):
        return value_words(values)
    months = values.get("records_retention_months")
    days = values.get("identifying_retention_days")
    return list_words(
        [
            "records kept "
            + (count_words(months, "month") if months else "for the hub's default time"),
            "identifying fields kept "
            + (count_words(days, "day") if days else "for the hub's default time"),
        ],
        words=str,
    )


@says("dataset_retention_set")
def _dataset_retention_set(s: Said) -> str:
    asked = f" at the request of {value_words(s.get('operator'))}" if s.get("operator") else ""
    return (
        f"{s.who} changed the retention of {s.dataset()}{asked}: now "
        f"{_retention(s.get('after'))} (before: {_retention(s.get('before'))})"
    )
