"""User.language: blank means "not chosen yet".

Until now a person could not choose in the pages: Spanish was the default. An import's `es`
or `createuser --language es-co` set the same value and cannot be told from it, so every
Spanish value becomes "not chosen" and follows the page's language until the person chooses;
English was always asked for explicitly and stays. Reversed, "not chosen" becomes Spanish.
"""

from django.db import migrations, models


def spanish_to_not_chosen(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("accounts", "User").objects.filter(language="es-co").update(language="")


def not_chosen_to_spanish(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("accounts", "User").objects.filter(language="").update(language="es-co")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_sessionrecord_sid_user_verified_email"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("es-co", "Spanish"), ("en", "English")],
                default="",
                max_length=8,
                verbose_name="language",
            ),
        ),
        migrations.RunPython(spanish_to_not_chosen, not_chosen_to_spanish),
    ]
