from django.contrib import admin

from sharing.models import InformationSharingProtocol, Signature


class SignatureInline(admin.TabularInline):
    model = Signature
    extra = 0


@admin.register(InformationSharingProtocol)
class InformationSharingProtocolAdmin(admin.ModelAdmin):
    list_display = ["partnership", "version", "adopted_on", "review_due"]
    inlines = [SignatureInline]


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ["agency", "isp", "tier", "signed_on", "signatory_name", "withdrawn_on"]
    list_filter = ["tier", "isp"]
