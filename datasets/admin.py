from django.contrib import admin

from datasets.models import Dataset


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    """Datasets come from the schema files (``manage.py load_catalogue``); not edited here."""

    list_display = ["slug", "name", "section", "tier", "kind", "is_active"]
    list_filter = ["tier", "kind", "is_active"]
    search_fields = ["slug", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
