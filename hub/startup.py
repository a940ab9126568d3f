"""What a web process does once at start, after Django is set up."""

from __future__ import annotations

import gc

from django.urls import get_resolver


def long_lived_freeze() -> None:
    """Load every view now and set everything loaded so far apart from the garbage collector.

    All of it lives as long as the process. Left to the collector, each of its full passes
    walks those objects again, and a request that allocates many (the hotspot map's GeoJSON)
    sets one off: every other map took twice as long.
    """
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and so every view
    gc.freeze()
