from django.db import migrations


def move_content_type(apps, schema_editor):
    """Admin permissions and log entries follow the model to its new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="audit", model="auditevent").exists():
        content_type.objects.filter(app_label="deployments", model="auditevent").update(
            app_label="audit"
        )


class Migration(migrations.Migration):
    """AuditEvent now lives in the audit app (audit/0001): only Django's record
    changes, the table stays."""

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("deployments", "0017_release_models_moved"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="auditevent",
                    name="deployments_action_54940a_idx",
                ),
                migrations.RemoveIndex(
                    model_name="auditevent",
                    name="audit_environment_timeline",
                ),
                migrations.RemoveIndex(
                    model_name="auditevent",
                    name="audit_person_timeline",
                ),
                migrations.DeleteModel(
                    name="AuditEvent",
                ),
            ],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
