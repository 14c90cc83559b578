"""The account remembers its recent devices, so that a sign-in no longer reads the audit trail.

Seeded from the sign-ins of the last 180 days (`notices.REMEMBERED` when this was written), so
that devices already known before the upgrade do not all look new once.
"""

from datetime import UTC, timedelta

from django.db import migrations, models

from portero.core import clock

REMEMBERED = timedelta(days=180)
BATCH = 1000  # accounts per UPDATE


def seed_known_devices(apps, schema_editor):
    """Give each account {device: UTC date of its latest sign-in from it}, from the audit rows."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    User = apps.get_model("accounts", "User")
    sign_ins = (
        AuditEvent.objects.filter(
            event="sign_in.ok", user_id__isnull=False, created_at__gte=clock.now() - REMEMBERED
        )
        .order_by("pk")
        .values_list("user_id", "details", "created_at")
    )
    known = {}
    for user_id, details, created_at in sign_ins.iterator(chunk_size=2000):
        device = details.get("device") if isinstance(details, dict) else None
        if isinstance(device, str):
            day = created_at.astimezone(UTC).date().isoformat()
            devices = known.setdefault(user_id, {})
            devices[device] = max(day, devices.get(device, day))  # ISO dates sort as dates
    accounts = list(known.items())
    for start in range(0, len(accounts), BATCH):  # a few statements, never one per account
        users = [
            User(pk=user_id, known_devices=devices)
            for user_id, devices in accounts[start : start + BATCH]
        ]
        User.objects.bulk_update(users, ["known_devices"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_notify_new_device"),
        ("audit", "0002_chain_head"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="known_devices",
            field=models.JSONField(blank=True, default=dict, verbose_name="recently used devices"),
        ),
        migrations.RunPython(seed_known_devices, migrations.RunPython.noop),
    ]
