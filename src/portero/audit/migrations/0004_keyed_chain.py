"""The chain becomes keyed (HMAC with PORTERO_AUDIT_KEY_FILE): the upgrade's epoch boundary.

History is not rewritten. The rows sealed so far keep their plain SHA-256 hashes; this
migration records where they end (legacy_seq, and the hash of that row) under a tag made with
the audit key, and tags the purge anchor. From then on every row is sealed with the key, the
first one naming the last legacy row's hash, and `portero audit verify` accepts an unkeyed row
only at or before the recorded boundary. Check the old chain with `portero audit verify`
before upgrading: this vouches for it as it is (docs/operations.md, "Upgrading").
"""

from django.conf import settings
from django.db import migrations, models

from portero.audit.keys import audit_keys_read


def mark_epoch(apps, schema_editor):
    head = apps.get_model("audit", "AuditChain").objects.filter(pk=1).first()
    if head is None or not (head.head_seq or head.anchor_seq):
        return  # nothing sealed yet: every row will be keyed
    keys = audit_keys_read(settings.PORTERO_AUDIT_KEY_FILE)
    head.legacy_seq, head.legacy_hash = head.head_seq, head.head_hash
    head.legacy_tag = keys.tag("legacy", head.head_seq, head.head_hash)
    if head.anchor_seq or head.anchor_hash:
        head.anchor_tag = keys.tag("anchor", head.anchor_seq, head.anchor_hash)
    head.save(update_fields=["legacy_seq", "legacy_hash", "legacy_tag", "anchor_tag"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_sealed_by_the_worker")]
    operations = [
        migrations.AddField(
            model_name="auditchain",
            name="anchor_tag",
            field=models.CharField(blank=True, max_length=81),
        ),
        migrations.AddField(
            model_name="auditchain",
            name="legacy_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="auditchain", name="legacy_seq", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="auditchain",
            name="legacy_tag",
            field=models.CharField(blank=True, max_length=81),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.RunPython(mark_epoch, migrations.RunPython.noop),
    ]
