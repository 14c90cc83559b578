"""Create the two help-desk roles as groups holding the console permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AGENT_GROUP = "Mesa de Servicio: agente"
SUPERVISOR_GROUP = "Mesa de Servicio: supervisor"


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    config = apps.get_app_config("helpdesk")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    use = Permission.objects.get(content_type__app_label="helpdesk", codename="use_console")
    supervise = Permission.objects.get(content_type__app_label="helpdesk", codename="supervise")
    agent, _ = Group.objects.get_or_create(name=AGENT_GROUP)
    agent.permissions.add(use)
    supervisor, _ = Group.objects.get_or_create(name=SUPERVISOR_GROUP)
    supervisor.permissions.add(use, supervise)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[AGENT_GROUP, SUPERVISOR_GROUP]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
