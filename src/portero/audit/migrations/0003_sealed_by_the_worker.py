"""Rows are sealed into the chain after they are written: `seq` orders the chain.

The rows already chained were chained in id order, so their place is their id.
"""

from django.db import migrations, models


def place_chained_rows(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditEvent.objects.exclude(row_hash="").update(seq=models.F("id"))


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_head")]
    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunPython(place_chained_rows, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_unsealed"
            ),
        ),
        migrations.RenameField(model_name="auditchain", old_name="head_id", new_name="head_seq"),
        migrations.RenameField(
            model_name="auditchain", old_name="anchor_id", new_name="anchor_seq"
        ),
    ]
