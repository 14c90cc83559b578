"""Create the audit chain's head row, so that every write takes the same single lock."""

from django.db import migrations


def create_head(apps, schema_editor):
    apps.get_model("audit", "AuditChain").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
