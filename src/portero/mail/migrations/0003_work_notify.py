from django.db import migrations

from portero.core.work_notify import notify_on_insert


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_alter_outboundemail_kind"),
    ]

    operations = [
        notify_on_insert("mail_outboundemail"),
    ]
