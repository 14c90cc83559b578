"""Long-running processes keep what they loaded at start out of the collector's walks."""

from __future__ import annotations

import gc
import sys

from portero.ops.management.commands.serve import server_options
from portero.ops.startup import startup_objects_freeze


def test_what_was_loaded_is_frozen_views_included():
    gc.unfreeze()
    try:
        startup_objects_freeze()
        assert gc.get_freeze_count() > 10_000
        assert "portero.recovery.views" in sys.modules
    finally:
        gc.unfreeze()


def test_each_web_worker_freezes_once_it_has_loaded_the_site():
    hook = server_options(bind="127.0.0.1:0", workers=1)["post_worker_init"]
    gc.unfreeze()
    try:
        hook(object())
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
