"""The audit trail's codes in words: a phrase for every action the hub writes (the filter
offers them; tests/sharing/test_audit_words.py fails when an action written has none), the
processes that act without a user, and the routes an access gate names when it refuses."""

from hub.choices import AuditAction
from sanitise.choices import SanitiseAuditAction

# Actions written as plain strings; those of the enums keep the enums' own labels.
_WRITTEN_AS_TEXT = {
    # Partners, people and their access
    "agency_created": "Partner agency added",
    "agency_changed": "Partner agency's type changed",
    "agency_admitted": "Partner admitted with the responsible authorities' consent",
    "membership_changed": "Roles in an agency changed",
    "membership_removed": "Removed from an agency",
    "user_invited": "User invited",
    "user_deactivated": "User deactivated",
    "user_removed_from_partnership": "User removed from the partnership",
    "login_locked_out": "Sign-in locked out after repeated failures",
    "access_refused": "Access refused",
    "access_profile_changed": "Access profile set",
    "access_profile_assigned": "Access profile given",
    "access_profile_unassigned": "Access profile taken away",
    # The Information Sharing Protocol
    "isp_adopted": "ISP version adopted",
    "isp_signed": "ISP signature recorded",
    "isp_signature_changed": "ISP signature changed",
    "isp_signature_withdrawn": "ISP signature withdrawn",
    # Supplies and the pipeline
    "supply_uploaded": "Supply uploaded",
    "supply_nil_return": "Nil return made",
    "supply_refused": "Supply refused",
    "supply_stage_done": "Pipeline stage finished",
    "supply_failed": "Supply failed in the pipeline",
    "supply_rejected": "Supply rejected by the pipeline",
    "supply_retried": "Failed supply retried",
    "supply_withdrawn": "Supply withdrawn",
    "supply_rejected_rows_downloaded": "Rejected rows downloaded",
    "supply_schedule_set": "Supply schedule set",
    "supply_reminder_sent": "Overdue supply reminder sent",
    # Retention
    "supply_raw_purged": "Uploaded files deleted after their retention",
    "orphan_uploads_purged": "Abandoned uploads deleted",
    "records_purged": "Records deleted after their retention",
    "identifying_purged": "Identifying fields deleted after their retention",
    "withdrawn_records_deleted": "Records of a withdrawn supply deleted",
    "dataset_retention_set": "Dataset retention changed",
    # Extracts
    "extract_requested": "Extract requested",
    "extract_refused": "Extract refused",
    "extract_created": "Extract made",
    "extract_failed": "Extract failed",
    "extract_downloaded": "Extract downloaded",
    "extract_deleted": "Extract deleted",
    "extracts_expired": "Extracts deleted after their retention",
    # Requests for personal data
    "data_request_made": "Personal data requested",
    "data_request_refused": "Request for personal data not accepted",
    "data_request_approved": "Request for personal data approved",
    "data_request_refused_by_dlo": "Request for personal data refused",
    "data_request_decision_refused": "Decision on a request not accepted",
    "data_request_ended": "Request for personal data ended",
    "data_request_end_refused": "Ending a request not accepted",
    # The analyst's workspace
    "workspace_viewed": "Workspace counts viewed",
    "explorer_viewed": "Dataset explored",
    "map_viewed": "Map viewed",
    "map_refused": "Map refused",
    "query_saved": "Query saved",
    "query_deleted": "Saved query deleted",
    # Freedom of Information
    "foi_recorded": "FOI request recorded",
    "foi_answered": "FOI consultation answered",
    "foi_answer_refused": "FOI answer not accepted",
    "foi_released": "FOI response released",
    "foi_release_refused": "FOI release not accepted",
    "foi_withdrawn": "FOI request withdrawn",
    "foi_deadline_reminder": "FOI deadline reminder sent",
    "foi_mail_failed": "FOI e-mail not sent",
    # The document library
    "document_created": "Document added",
    "document_version_added": "Document version added",
    "document_downloaded": "Document downloaded",
    "document_refused": "Document upload refused",
    # The benchmark
    "bench_filled": "Benchmark data loaded",
    "bench_cleared": "Benchmark data cleared",
}

ACTION_PHRASES: dict[str, str] = {
    **dict(AuditAction.choices),
    **dict(SanitiseAuditAction.choices),
    **_WRITTEN_AS_TEXT,
}

# The processes that act without a user (``audit_record(system=...)``), as a sentence's subject.
SYSTEM_NAMES = {
    "": "The hub",
    "pipeline": "The pipeline",
    "retention": "Retention",
    "schedule": "The schedule",
    "extracts": "The extract builder",
    "foi": "The FOI deadline check",
    "mail": "The mailer",
    "keys": "Key rotation",
    "authentication": "Sign-in",
    "anonymous": "Someone not signed in",
    "password_reset": "The password reset page",
    "password_change": "A password change",
    "groups": "A change of groups",
    "issue_token": "The issue_token command",
    "load_catalogue": "The catalogue loader",
    "load_demo": "The demo loader",
    "bench": "The benchmark",
    "unnamed": "A process of the hub",
}

# What was refused, by the route an access gate names (hub.access.refuse).
ROUTE_OBJECTS = {
    "map": "the map",
    "map page": "the map",
    "workspace": "the workspace",
    "explorer": "the dataset explorer",
    "counts": "the counts",
    "counts.csv": "the counts as CSV",
    "linked": "the linked crime view",
    "compare": "the cross-agency comparison",
    "extract": "an extract",
    "extract build": "an extract",
    "extract builder": "the extract builder",
    "extract page": "an extract's page",
    "extract download": "an extract's download",
    "rejected rows": "a supply's rejected rows",
    "supply page": "a supply's page",
    "supply retry": "a retry of a supply",
    "supply_retry": "a retry of a supply",
    "supply withdraw": "the withdrawal of a supply",
    "supply_withdraw": "the withdrawal of a supply",
    "saved query": "a saved query",
    "saved query delete": "the deletion of a saved query",
    "audit": "the audit trail",
    "audit_export": "the audit trail's export",
    "bench": "the benchmark",
    "access profile": "an access profile",
    "access profiles": "the access profiles",
    "new access profile": "a new access profile",
    "access_profile_ensure": "setting an access profile",
    "access_profile_save": "saving an access profile",
    "access_profile_assign": "giving an access profile",
    "access_profile_unassign": "taking away an access profile",
    "access_profile_preview": "a preview of an access profile",
    "user_roles_set": "setting a user's roles",
    "user_invite": "inviting a user",
    "user_deactivate": "deactivating a user",
    "two_factor_remove": "resetting a user's second factor",
    "isp_adopt": "adopting the ISP",
    "agency_admit": "admitting a partner",
    "schedule_set": "setting a supply schedule",
    "signature_record": "recording an ISP signature",
    "signature_withdraw": "withdrawing an ISP signature",
}

# How far the pipeline got: what a stage does, and where a supply goes after it.
STAGE_DOING = {
    "queued": "queueing",
    "validating": "validating",
    "geocoding": "geocoding",
    "sanitising": "sanitising",
    "loading": "loading",
    "reporting": "writing the report on",
}
STAGE_NEXT = {
    "geocoding": "passed it to geocoding",
    "sanitising": "passed it to sanitising",
    "loading": "passed it to loading",
    "reporting": "passed it on for its report",
    "completed": "the supply is complete",
}

WORKSPACE_VIEWS = {
    "counts": "the counts",
    "counts.csv": "the counts as CSV",
    "linked": "the linked crime view",
    "compare": "the cross-agency comparison",
    "map": "the map",
}
