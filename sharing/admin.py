from django.contrib import admin

from hub.admin import ReadOnly, ReadOnlyAdmin
from sharing.models import InformationSharingProtocol, Signature


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
