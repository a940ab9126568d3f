from django.db import models


class AgencyType(models.TextChoices):
    """Partner agencies named in guidance §2.2 and as suppliers in §3.2."""

    LOCAL_AUTHORITY = "local_authority", "District, borough, unitary or county council"
    POLICE_FORCE = "police_force", "Police force"
    POLICE_AUTHORITY = "police_authority", "Police authority"
    FIRE_RESCUE = "fire_rescue", "Fire and rescue service"
    PRIMARY_CARE_TRUST = "primary_care_trust", "Primary care trust / local health board"
    PROBATION = "probation", "Probation trust"
    STRATEGIC_HEALTH_AUTHORITY = "strategic_health_authority", "Strategic health authority"
    NHS_TRUST = "nhs_trust", "NHS trust (hospital, A&E)"
    MENTAL_HEALTH_TRUST = "mental_health_trust", "Mental health trust"
    AMBULANCE = "ambulance", "Ambulance service"
    YOUTH_OFFENDING = "youth_offending", "Youth offending service"
    DRUG_ALCOHOL_TEAM = "drug_alcohol_team", "Drug and alcohol action team"
    CRIMINAL_JUSTICE_BOARD = "criminal_justice_board", "Criminal justice board"
    CROWN_PROSECUTION = "crown_prosecution", "Crown Prosecution Service"
    COURTS = "courts", "HM Courts Service"
    PRISON = "prison", "HM Prison Service or contracted prison (NOMS)"
    YOUNG_OFFENDER_INSTITUTION = "young_offender_institution", "Young offender institution"
    SOCIAL_LANDLORD = "social_landlord", "Housing association / registered social landlord"
    VICTIM_SUPPORT = "victim_support", "Victim Support"
    SPECIALIST_VOLUNTARY = "specialist_voluntary", "Voluntary agency with specialist services"
    BRITISH_TRANSPORT_POLICE = "british_transport_police", "British Transport Police"
    TRANSPORT_OPERATOR = "transport_operator", "Local train or tram operator"
    BUS_OPERATOR = "bus_operator", "Local bus operator"
    ENVIRONMENT_AGENCY = "environment_agency", "Environment Agency"
    PARISH_COUNCIL = "parish_council", "Parish council"
    BUSINESS_COMMUNITY = "business_community", "Local business or community group"
    VOLUNTARY_GROUP = "voluntary_group", "Other voluntary group"


class Role(models.TextChoices):
    SUPPLIER = "supplier", "Supplier"
    ANALYST = "analyst", "Analyst"
    DLO = "dlo", "Designated liaison officer"
    COORDINATOR = "coordinator", "CSP co-ordinator"
    CALDICOTT = "caldicott", "Caldicott Guardian"


# Guidance §2.2.1: the authorities with a statutory duty to form the CSP. Every one of them
# must consent before another agency becomes a partner (§2.2.4).
RESPONSIBLE_AUTHORITY_TYPES = (
    AgencyType.LOCAL_AUTHORITY,
    AgencyType.POLICE_FORCE,
    AgencyType.POLICE_AUTHORITY,
    AgencyType.FIRE_RESCUE,
    AgencyType.PRIMARY_CARE_TRUST,
    AgencyType.PROBATION,
)
# Health bodies: personal data they supply need their Caldicott Guardian's agreement too.
HEALTH_AGENCY_TYPES = (
    AgencyType.PRIMARY_CARE_TRUST,
    AgencyType.STRATEGIC_HEALTH_AUTHORITY,
    AgencyType.NHS_TRUST,
    AgencyType.MENTAL_HEALTH_TRUST,
    AgencyType.AMBULANCE,
)


class IspTier(models.TextChoices):
    """Guidance §2.2.4: agencies with a central role, and the second group."""

    CORE = "core", "Core"
    ASSOCIATE = "associate", "Associate"
    NONE = "none", "Not a signatory"


class SignatureTier(models.TextChoices):
    """The group an agency signs the ISP in (guidance §2.2.4)."""

    CORE = "core", "Core (central role)"
    ASSOCIATE = "associate", "Associate (occasional, depersonalised only)"


class AuditAction(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    LOGOUT = "logout", "Signed out"
    CATALOGUE_SYNC = "catalogue_sync", "Catalogue synchronised"
    TEMPLATE_DOWNLOAD = "template_download", "Template downloaded"
    TOKEN_ISSUED = "token_issued", "API token issued"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    TOKEN_REFUSED = "token_refused", "API token refused: the account needs a second factor"
    TOKEN_ISSUE_REFUSED = "token_issue_refused", "API token not issued: a second factor needed"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled", "Two-factor authentication set up"
    TWO_FACTOR_FAILED = "two_factor_failed", "Wrong two-factor code"
    TWO_FACTOR_REMOVED = "two_factor_removed", "Two-factor authentication removed"
    TWO_FACTOR_RESET = "two_factor_reset", "Two-factor authentication reset by the co-ordinator"
    BACKUP_CODE_USED = "backup_code_used", "Backup code used"
    BACKUP_CODES_ISSUED = "backup_codes_issued", "New backup codes issued"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_SET = "password_set", "Password set from an e-mailed link"
    DEMO_LOADED = "demo_loaded", "Demo partnership loaded"
    MASTER_KEY_ROTATED = "master_key_rotated", "Master key rotated"
    AUDIT_VIEWED = "audit_viewed", "Audit trail read"
    AUDIT_EXPORTED = "audit_exported", "Audit trail exported"
