from django.contrib import admin

from datasets.models import Dataset, Supply, SupplySchedule
from hub.admin import ReadOnlyAdmin


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    """Datasets come from the schema files (``manage.py load_catalogue``); not edited here."""

    list_display = ["slug", "name", "section", "tier", "kind", "is_active"]
    list_filter = ["tier", "kind", "is_active"]
    search_fields = ["slug", "name"]


@admin.register(Supply)
class SupplyAdmin(ReadOnlyAdmin):
    """Supplies change only through the pipeline; staff can look them up here."""

    list_display = ["created_at", "dataset", "agency", "period_start", "period_end", "status"]
    list_filter = ["status", "dataset", "agency"]
    exclude = ["data_key_wrapped"]


@admin.register(SupplySchedule)
class SupplyScheduleAdmin(ReadOnlyAdmin):
    """Schedules are set by the co-ordinator on the schedule page, which audits each change."""

    list_display = ["agency", "dataset", "frequency", "due_day", "last_reminded_period"]
    list_filter = ["frequency", "agency"]
