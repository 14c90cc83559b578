"""What a long-running process (`portero serve`'s workers, `portero worker`) does once it has
loaded everything, before its first request or round."""

from __future__ import annotations

import gc

from django.urls import get_resolver


def startup_objects_freeze() -> None:
    """Load the URLconf, then keep every object alive now out of the cyclic collector's walks.

    What a process loads at start (Django, the views, the URLconf) lives as long as it does.
    Without this, each full collection walks it all again: about 80 ms here, landing on
    whichever request or worker batch happened to allocate past the collector's threshold
    (bench/README.md). `gc.freeze` moves those objects to a generation the collector never
    scans; what the process makes afterwards is collected as before.
    """
    get_resolver().url_patterns  # noqa: B018  imports every view now, not in the first request
    gc.collect()
    gc.freeze()
