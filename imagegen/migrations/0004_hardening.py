# Issue 11 (hardening): a heartbeat on running jobs, the task row that runs a job, and the permission to spend the
# site's provider credit — granted here to every account that exists now (they could generate before).

from django.conf import settings
from django.db import migrations, models

PERMISSION = ("generate_images", "Can generate images (spends the site's provider credit)")


def grant_to_existing_users(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    db = schema_editor.connection.alias
    # Permissions are normally created after all migrations (post_migrate); this one is needed now.
    content_type, _ = ContentType.objects.using(db).get_or_create(app_label="imagegen", model="generationjob")
    permission, _ = Permission.objects.using(db).get_or_create(
        content_type=content_type, codename=PERMISSION[0], defaults={"name": PERMISSION[1]}
    )
    Through = User.user_permissions.through
    rows = [Through(user_id=pk, permission_id=permission.pk) for pk in User.objects.using(db).values_list("pk", flat=True)]
    Through.objects.using(db).bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("imagegen", "0003_job_input_image_limit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="generationjob",
            options={"ordering": ["-created_at"], "permissions": [PERMISSION]},
        ),
        migrations.AddField(
            model_name="generationjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generationjob",
            name="task_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(grant_to_existing_users, migrations.RunPython.noop),
    ]
