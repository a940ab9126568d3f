"""The analyst's workspace: filters (read from a request, within the access gate), saved
queries, the dataset explorer, the map, counts, the linked crime view and the cross-agency
comparison."""
