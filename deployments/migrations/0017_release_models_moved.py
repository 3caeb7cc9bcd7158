import django.db.models.deletion
from django.db import migrations, models

MOVED = ("release", "buildlogline", "buildattempt", "ciresult")


def move_content_types(apps, schema_editor):
    """Admin permissions and log entries follow the models to their new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label="releases", model=model).exists():
            content_type.objects.filter(app_label="deployments", model=model).update(
                app_label="releases"
            )


class Migration(migrations.Migration):
    """The release models now live in the releases app (releases/0001): only Django's
    record changes, the tables stay."""

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("deployments", "0016_release_rebuilds"),
        ("releases", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="buildattempt",
                    name="build_attempt_unique",
                ),
                migrations.RemoveConstraint(
                    model_name="buildlogline",
                    name="build_log_seq_unique",
                ),
                migrations.RemoveIndex(
                    model_name="ciresult",
                    name="ci_result_newest",
                ),
                migrations.DeleteModel(
                    name="CIResult",
                ),
                migrations.RemoveIndex(
                    model_name="release",
                    name="release_by_image",
                ),
                migrations.RemoveIndex(
                    model_name="release",
                    name="release_newest",
                ),
                migrations.RemoveConstraint(
                    model_name="release",
                    name="release_version_unique",
                ),
                migrations.RemoveConstraint(
                    model_name="release",
                    name="ready_release_image_has_digest",
                ),
                migrations.AlterField(
                    model_name="deployment",
                    name="release",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deployments",
                        to="releases.release",
                    ),
                ),
                migrations.RemoveField(
                    model_name="buildlogline",
                    name="release",
                ),
                migrations.RemoveField(
                    model_name="release",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="release",
                    name="service",
                ),
                migrations.DeleteModel(
                    name="BuildAttempt",
                ),
                migrations.DeleteModel(
                    name="BuildLogLine",
                ),
                migrations.DeleteModel(
                    name="Release",
                ),
            ],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
