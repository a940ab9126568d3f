from django.contrib import admin

from sanitise.models import GazetteerVersion


@admin.register(GazetteerVersion)
class GazetteerVersionAdmin(admin.ModelAdmin):
    """Reference data change only through the import commands; the history is read here."""

    list_display = ["id", "created_at", "kind", "source", "row_count", "synthetic"]
    list_filter = ["kind", "synthetic"]
    readonly_fields = ["created_at", "kind", "source", "row_count", "synthetic", "detail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
