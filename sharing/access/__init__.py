"""The access gate: who may see which rows and fields of the partnership's data.

The only package of ``sharing`` that reads roles, memberships, ISP standing, access profiles
and personal-data requests. Every route to records (extracts in every format and join, the
map, counts and their CSV, the explorer, the linked view, the comparison, saved queries) asks
``record_scope`` for the exact partnership, supplying agencies, period, area and fields it may
use, and builds its query from that scope. A refusal is audited here, once, on every route.

The gate in three parts: ``levels`` (ISP standing and the level per dataset), ``scope`` (the
rows and fields allowed) and ``objects`` (extracts, requests, saved queries and access
profiles as objects).
Callers use the names below.
"""

from hub.access import AccessRefused
from sharing.access.levels import (
    AccessDecision,
    access_decision,
    access_decisions,
    acting_partnership,
    active_requests,
    analyst_refusal,
    analyst_standing,
    datasets_allowed,
    holds_personal_access,
)
from sharing.access.objects import (
    access_profile_get,
    access_profile_restrict,
    extract_get,
    extract_restrict,
    request_decider_role,
    request_get,
    request_restrict,
    saved_query_get,
    saved_query_restrict,
)
from sharing.access.scope import RecordScope, extract_scope_check, record_scope

__all__ = [
    "AccessDecision",
    "AccessRefused",
    "RecordScope",
    "access_decision",
    "access_decisions",
    "access_profile_get",
    "access_profile_restrict",
    "acting_partnership",
    "active_requests",
    "analyst_refusal",
    "analyst_standing",
    "datasets_allowed",
    "extract_get",
    "extract_restrict",
    "extract_scope_check",
    "holds_personal_access",
    "record_scope",
    "request_decider_role",
    "request_get",
    "request_restrict",
    "saved_query_get",
    "saved_query_restrict",
]
