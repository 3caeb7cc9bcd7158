"""AuditEvent gains the environment and service it concerns, backfilled from each
row's deployment (and, for locks and unlocks, from the environment named in its
target), with the index the environment timeline pages by."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

LOCK_ACTIONS = ("environment.locked", "environment.unlocked")


def backfill_links(apps, schema_editor):
    # Only the new link columns are written: what each row says stays as it was.
    AuditEvent = apps.get_model("deployments", "AuditEvent")
    Deployment = apps.get_model("deployments", "Deployment")
    Environment = apps.get_model("environments", "Environment")
    of_deployment = Deployment.objects.filter(pk=OuterRef("deployment_id"))
    AuditEvent.objects.filter(deployment__isnull=False).update(
        environment_id=Subquery(of_deployment.values("environment_id")[:1]),
        service_id=Subquery(of_deployment.values("service_id")[:1]),
    )
    named = Environment.objects.filter(name=OuterRef("target"))
    AuditEvent.objects.filter(deployment__isnull=True, action__in=LOCK_ACTIONS).update(
        environment_id=Subquery(named.values("pk")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0004_break_glass_review"),
        ("environments", "0002_environment_lock_owner"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="environment",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="audit",
                to="environments.environment",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="service",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="audit",
                to="environments.service",
            ),
        ),
        migrations.RunPython(backfill_links, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["environment", "-created_at", "-id"], name="audit_environment_timeline"
            ),
        ),
    ]
