"""The environment timeline filtered by one person reads that person's rows only."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0005_audit_event_environment"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)),
                fields=["environment", "actor", "-created_at", "-id"],
                name="audit_person_timeline",
            ),
        ),
    ]
