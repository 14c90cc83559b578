"""New work announces itself: on PostgreSQL an insert into a work table NOTIFYs idle workers.

A trigger, not a statement in the application: the web request pays no extra round trip, every
way of inserting a row (the admin, a script) wakes the worker too, and the notification is
delivered at commit, so a worker never wakes before the row is visible. SQLite has no
LISTEN/NOTIFY; the worker polls there (see portero.worker).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

CHANNEL = "portero_work"

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION portero_work_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END $$
"""


def notify_on_insert(table: str) -> migrations.RunPython:
    """Return a migration operation adding the trigger on `table` (PostgreSQL only)."""
    trigger = f"{table}_portero_work"

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(_FUNCTION)
            schema_editor.execute(
                f'CREATE TRIGGER {trigger} AFTER INSERT ON "{table}" '
                "FOR EACH STATEMENT EXECUTE FUNCTION portero_work_notify()"
            )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"')

    return migrations.RunPython(forwards, backwards, elidable=False)
