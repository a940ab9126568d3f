from django.contrib import admin

from hub.admin import ReadOnlyAdmin
from sanitise.models import GazetteerVersion


@admin.register(GazetteerVersion)
class GazetteerVersionAdmin(ReadOnlyAdmin):
    """Reference data change only through the import commands; the history is read here."""

    list_display = ["id", "created_at", "kind", "source", "row_count", "synthetic"]
    list_filter = ["kind", "synthetic"]
    readonly_fields = ["created_at", "kind", "source", "row_count", "synthetic", "detail"]
