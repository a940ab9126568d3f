"""sharing's pages, one module per area: extracts, governance (ISP, partners, personal-data
requests), console (users, their access and the audit trail), library (documents and FOI),
workspace (home, explorer, saved queries), counts (counts, linked view, comparison) and map.
Thin: the access gate, services and the workspace do the work."""
