from django.db import migrations

from portero.core.work_notify import notify_on_insert


class Migration(migrations.Migration):
    """A queued logout token wakes an idle worker at once (PostgreSQL)."""

    dependencies = [("federation", "0001_initial")]

    operations = [notify_on_insert("federation_logoutdelivery")]
