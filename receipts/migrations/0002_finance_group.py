"""The "Finance" group holds the permission to export receipts (receipts.export_receipts).

Permissions are normally created after all migrations run (post_migrate), so on a fresh
database the permission row does not exist yet here: it is created the same way Django
would (same codename, same content type), and post_migrate then finds it in place.
"""

from django.db import migrations

CODENAME = "export_receipts"
NAME = "Can export receipts and gifts for finance"


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="receipts", model="receipt")
    permission, _ = Permission.objects.get_or_create(
        codename=CODENAME, content_type=content_type, defaults={"name": NAME}
    )
    group, _ = Group.objects.get_or_create(name="Finance")
    group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Finance").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(codename=CODENAME, content_type__app_label="receipts")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("receipts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
