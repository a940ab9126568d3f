"""Sentences of the entries about people and the partnership: signing in, tokens and second
factors, partners, roles, the ISP, access profiles and refusals, and the hub's own upkeep."""

from hub.choices import AgencyType, Role, SignatureTier
from sanitise.choices import GazetteerKind
from sharing.audit_words.phrases import ROUTE_OBJECTS
from sharing.audit_words.values import (
    Said,
    choice_words,
    count_words,
    date_words,
    key_words,
    list_words,
    pairs_words,
    quoted,
    says,
    value_words,
)
from sharing.choices import AccessLevel

# -- signing in ------------------------------------------------------------------------------


@says("login")
def _login(s: Said) -> str:
    return f"{s.who} signed in"


@says("logout")
def _logout(s: Said) -> str:
    return f"{s.who} signed out"


@says("login_failed")
def _login_failed(s: Said) -> str:
    return f"A sign-in as {quoted(s.get('username'))} failed"


@says("login_locked_out")
def _login_locked_out(s: Said) -> str:
    return f"Sign-in as {quoted(s.get('username'))} was locked out after repeated failures"


@says("password_reset_requested")
def _password_reset_requested(s: Said) -> str:
    known = s.get("known")
    found = (
        "an account has that address" if known else "no account has that address"
    ) if known is not None else ""  # fmt: skip
    sentence = f"A password reset was asked for {value_words(s.get('email'))}"
    if found:
        sentence += f" ({found})"
    if s.get("throttled"):
        sentence += "; no e-mail was sent, as too many were asked for"
    return sentence


@says("password_set")
def _password_set(s: Said) -> str:
    return f"{s.who} set {_whose(s)} password from an e-mailed link"


# -- API tokens and second factors -------------------------------------------------------------


def _for_whom(s: Said) -> str:
    """The words ' for Amir Hussain' when the entry is about someone other than who acted."""
    user = s.get("user")
    if not user or user == s.entry.actor_username:
        return ""
    return f" for {s.person(user)}"


def _whose(s: Said) -> str:
    """The word 'their' for one's own account, else "Amir Hussain's"."""
    user = s.get("user")
    return "their" if not user or user == s.entry.actor_username else f"{s.person(user)}'s"


@says("token_issued")
def _token_issued(s: Said) -> str:
    return f"{s.who} issued an API token{_for_whom(s)}"


@says("token_issue_refused")
def _token_issue_refused(s: Said) -> str:
    return (
        f"{s.who} could not issue an API token{_for_whom(s)}: the account needs a second "
        "factor, which API tokens cannot use"
    )


@says("token_revoked")
def _token_revoked(s: Said) -> str:
    user = s.get("user")
    whose = f"{s.person(user)}'s" if user else "an"
    prefix = f" ({s.get('prefix')}…)" if s.get("prefix") else ""
    reason = f": {value_words(s.get('reason'))}" if s.get("reason") else ""
    return f"{s.who} revoked {whose} API token{prefix}{reason}"


@says("token_refused")
def _token_refused(s: Said) -> str:
    prefix = f" ({s.get('prefix')}…)" if s.get("prefix") else ""
    reason = value_words(s.get("reason")) if s.get("reason") else "refused"
    return f"A call with {s.who}'s API token{prefix} was refused: {reason}"


@says("two_factor_enrolled")
def _two_factor_enrolled(s: Said) -> str:
    return f"{s.who} set up two-factor authentication{_for_whom(s)}"


@says("two_factor_failed")
def _two_factor_failed(s: Said) -> str:
    kind = {"app": "authenticator", "backup code": "backup"}.get(s.get("kind"), "second-factor")
    step = {"enrolment": "setting it up", "sign-in": "signing in"}.get(s.get("step"), "")
    sentence = f"{s.who} gave a wrong {kind} code"
    if step:
        sentence += f" when {step}"
    if s.get("throttled"):
        sentence += "; further attempts are paused"
    return sentence


@says("two_factor_removed")
def _two_factor_removed(s: Said) -> str:
    return f"{s.who} removed their two-factor authentication{_for_whom(s)}"


@says("two_factor_reset")
def _two_factor_reset(s: Said) -> str:
    user = s.get("user")
    whose = f"{s.person(user)}'s" if user else "a user's"
    return f"{s.who} reset {whose} two-factor authentication"


@says("backup_code_used")
def _backup_code_used(s: Said) -> str:
    left = s.get("left")
    after = f" ({count_words(left, 'code')} left)" if left is not None else ""
    return f"{s.who} signed in with a backup code{after}"


@says("backup_codes_issued")
def _backup_codes_issued(s: Said) -> str:
    return f"{s.who} was given {count_words(s.get('count', 'new'), 'new backup code')}"


# -- partners, people and roles ----------------------------------------------------------------


@says("agency_created")
def _agency_created(s: Said) -> str:
    kind = s.get("agency_type")
    return f"{s.who} added the partner agency {s.agency or 'an agency'}" + (
        f" ({choice_words(AgencyType, kind)})" if kind else ""
    )


@says("agency_changed")
def _agency_changed(s: Said) -> str:
    return f"{s.who} recorded {s.agency or 'an agency'} as: " + choice_words(
        AgencyType, s.get("agency_type")
    )


@says("agency_admitted")
def _agency_admitted(s: Said) -> str:
    consent = s.get("consent")
    by = f", with the consent of {list_words(consent)}" if consent else ""
    return f"{s.who} admitted {s.agency or 'an agency'} as a partner{by}"


def _roles(roles) -> str:
    if not isinstance(roles, list) or not roles:
        return "no roles"
    named = list_words(roles, words=lambda role: choice_words(Role, role))
    return f"the role {named}" if len(roles) == 1 else f"the roles {named}"


@says("membership_changed")
def _membership_changed(s: Said) -> str:
    at = f" at {s.agency}" if s.agency else ""
    return f"{s.who} gave {s.person(s.get('user'))} {_roles(s.get('roles'))}{at}"


@says("membership_removed")
def _membership_removed(s: Said) -> str:
    return f"{s.who} removed {s.person(s.get('user'))} from {s.agency or 'an agency'}"


@says("user_invited")
def _user_invited(s: Said) -> str:
    at = f" at {s.agency}" if s.agency else ""
    return f"{s.who} invited {s.person(s.get('user'))}{at}, with {_roles(s.get('roles'))}"


@says("user_deactivated")
def _user_deactivated(s: Said) -> str:
    return f"{s.who} deactivated {s.person(s.get('user'))}'s account"


@says("user_removed_from_partnership")
def _user_removed_from_partnership(s: Said) -> str:
    return (
        f"{s.who} removed {s.person(s.get('user'))} from the partnership; their account stays "
        "for the other partnership they belong to"
    )


# -- refusals --------------------------------------------------------------------------------


@says("access_refused")
def _access_refused(s: Said) -> str:
    route = s.get("route") or ""
    refused = ROUTE_OBJECTS.get(route) or (quoted(key_words(route)) if route else "access")
    what = f" of {s.dataset()}" if s.entry.dataset_slug else ""
    reason = value_words(s.get("reason")) if s.get("reason") else "no reason was recorded"
    said = [f"route: {route}"] if route else []
    if s.get("level"):
        said.append(f"level asked: {choice_words(AccessLevel, s.get('level')).lower()}")
    where = f" ({'; '.join(said)})" if said else ""
    return f"{s.who} was refused {refused}{what}: {reason.rstrip('.')}{where}"


# -- the ISP and access profiles ---------------------------------------------------------------


@says("isp_adopted")
def _isp_adopted(s: Said) -> str:
    due = f", to be reviewed by {date_words(s.get('review_due'))}" if s.get("review_due") else ""
    return f"{s.who} adopted version {value_words(s.get('version'))} of the ISP{due}"


@says("isp_signed", "isp_signature_changed")
def _isp_signed(s: Said) -> str:
    verb = "recorded" if s.entry.action == "isp_signed" else "changed"
    tier = s.get("tier")
    sentence = (
        f"{s.who} {verb} {s.agency or 'an agency'}'s signature of ISP version "
        f"{value_words(s.get('version'))}"
    )
    if tier:
        sentence += f", in the tier {choice_words(SignatureTier, tier)}"
    if s.get("signatory"):
        sentence += f", signed by {value_words(s.get('signatory'))}"
    return sentence


@says("isp_signature_withdrawn")
def _isp_signature_withdrawn(s: Said) -> str:
    on = f" on {date_words(s.get('withdrawn_on'))}" if s.get("withdrawn_on") else ""
    return (
        f"{s.who} withdrew {s.agency or 'an agency'}'s ISP signature (version "
        f"{value_words(s.get('version'))}){on}"
    )


@says("access_profile_changed")
def _access_profile_changed(s: Said) -> str:
    levels = s.get("levels")
    sentence = f"{s.who} set the access profile {quoted(s.get('name'))}"
    if isinstance(levels, dict) and levels:
        given = [
            f"{s.dataset(slug)}: {choice_words(AccessLevel, level)}"
            for slug, level in levels.items()
        ]
        sentence += f" to give {list_words(given, words=str)}"
    elif isinstance(levels, dict):
        sentence += " to give nothing"
    return sentence


@says("access_profile_assigned")
def _access_profile_assigned(s: Said) -> str:
    return f"{s.who} gave {s.person(s.get('holder'))} the access profile {quoted(s.get('profile'))}"


@says("access_profile_unassigned")
def _access_profile_unassigned(s: Said) -> str:
    return (
        f"{s.who} took the access profile {quoted(s.get('profile'))} from "
        f"{s.person(s.get('holder'))}"
    )


# -- the audit trail and the hub's upkeep ------------------------------------------------------


def _filters(filters) -> str:
    if not isinstance(filters, dict) or not filters:
        return ""
    return f", filtered by {pairs_words(filters, ', ')}"


@says("audit_viewed")
def _audit_viewed(s: Said) -> str:
    rows = count_words(s.get("rows", 0), "entry", "entries")
    return f"{s.who} read {rows} of the audit trail{_filters(s.get('filters'))}"


@says("audit_exported")
def _audit_exported(s: Said) -> str:
    rows = count_words(s.get("rows", 0), "entry", "entries")
    return f"{s.who} exported {rows} of the audit trail as CSV{_filters(s.get('filters'))}"


@says("catalogue_sync")
def _catalogue_sync(s: Said) -> str:
    changes = []
    for key, done in (("created", "added"), ("updated", "updated"), ("retired", "retired")):
        slugs = s.get(key)
        if slugs:
            changes.append(f"{done} {list_words(slugs, words=s.dataset)}")
    return f"{s.who} synchronised the catalogue" + (f": {'; '.join(changes)}" if changes else "")


@says("template_download")
def _template_download(s: Said) -> str:
    return f"{s.who} downloaded the supply template of {s.dataset()}"


@says("demo_loaded")
def _demo_loaded(s: Said) -> str:
    return f"{s.who} loaded the demo partnership"


@says("master_key_rotated")
def _master_key_rotated(s: Said) -> str:
    sentence = f"{s.who} moved the data keys to master key {value_words(s.get('to_key'))}"
    rewrapped = s.get("rewrapped")
    if isinstance(rewrapped, dict) and rewrapped:
        sentence += f", re-wrapping {pairs_words(rewrapped, ', ')}"
    in_use = s.get("in_use")
    if in_use:
        sentence += f"; left for the next run, as in use: {value_words(in_use)}"
    unreadable = s.get("unreadable")
    if unreadable:
        sentence += f"; under a master key not configured: {value_words(unreadable)}"
    if s.get("interrupted"):
        sentence += "; it was interrupted before it finished"
    return sentence


@says("gazetteer_imported")
def _gazetteer_imported(s: Said) -> str:
    kind = choice_words(GazetteerKind, s.get("kind")) if s.get("kind") else "reference data"
    sentence = f"{s.who} imported {count_words(s.get('rows', 0), 'row')} of {kind}"
    if s.get("source"):
        sentence += f" from {value_words(s.get('source'))}"
    if s.get("synthetic"):
        sentence += " (synthetic, for testing)"
    return sentence


@says("bench_filled")
def _bench_filled(s: Said) -> str:
    return (
        f"{s.who} loaded {count_words(s.get('records', 0), 'record')} of benchmark data over "
        f"{count_words(s.get('months', 0), 'month')} in "
        f"{count_words(s.get('supplies', 0), 'supply', 'supplies')}"
    )


@says("bench_cleared")
def _bench_cleared(s: Said) -> str:
    return (
        f"{s.who} cleared the benchmark data: "
        f"{count_words(s.get('supplies', 0), 'supply', 'supplies')} and "
        f"{count_words(s.get('extracts', 0), 'extract')} deleted"
    )
