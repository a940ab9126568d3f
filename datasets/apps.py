from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self):
        from datasets.areas import on_area_lookup_imported
        from sanitise.signals import area_lookup_imported

        # The records' areas follow each new postcode lookup (datasets.areas).
        area_lookup_imported.connect(on_area_lookup_imported, dispatch_uid="records_areas")
