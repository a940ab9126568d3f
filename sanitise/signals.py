"""Signals of the reference data, for apps above this one (the records' areas live in
datasets, which sanitise may not import)."""

from django.dispatch import Signal

# Sent inside the import's transaction, once the new postcode lookup is in place, with
# ``version`` (the GazetteerVersion): receivers re-derive what they keep from it.
area_lookup_imported = Signal()
