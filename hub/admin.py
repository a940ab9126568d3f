from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from hub.access import agency_tier
from hub.models import (
    Agency,
    AuditEntry,
    InformationSharingProtocol,
    Membership,
    Partnership,
    Signature,
    User,
)


class ReadOnly:
    """For records the application writes and nobody edits here: the audit trail, the
    catalogue, gazetteer versions, and whatever decides access (memberships and their roles,
    signatures, profiles), which only the governance services change, each checked, audited
    and ending the tokens of those whose access it lowers."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    pass


@admin.register(Partnership)
class PartnershipAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "postcode_areas"]


class MembershipInline(ReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Agency)
class AgencyAdmin(ReadOnlyAdmin):
    list_display = ["name", "agency_type", "isp_tier", "designated_liaison_officer", "partnership"]
    list_filter = ["partnership", "agency_type"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    @admin.display(description="ISP tier")
    def isp_tier(self, agency):
        return agency_tier(agency=agency)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "agency", "roles"]
    list_filter = ["agency"]
    search_fields = ["user__username", "agency__name"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The trail can be searched but not changed through the application."""

    list_display = [
        "created_at", "actor_username", "action", "partnership", "agency", "dataset_slug",
        "object_id",
    ]  # fmt: skip
    list_filter = ["action", "partnership", "agency"]
    search_fields = ["actor_username", "dataset_slug", "object_id"]
    date_hierarchy = "created_at"


class SignatureInline(ReadOnly, admin.TabularInline):
    model = Signature
    extra = 0


@admin.register(InformationSharingProtocol)
class InformationSharingProtocolAdmin(ReadOnlyAdmin):
    list_display = ["partnership", "version", "adopted_on", "review_due"]
    inlines = [SignatureInline]


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["agency", "isp", "tier", "signed_on", "signatory_name", "withdrawn_on"]
    list_filter = ["tier", "isp"]
