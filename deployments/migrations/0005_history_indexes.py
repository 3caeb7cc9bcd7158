"""Indexes for a long history: a lane's newest deployments, and the few rows the dashboard
reads on every request (in flight, unreviewed break-glass, open verification)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0004_break_glass_review"),
        ("environments", "0002_environment_lock_owner"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(fields=["lane", "finished_at"], name="deployment_lane_finished"),
        ),
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(fields=["lane", "created_at"], name="deployment_lane_created"),
        ),
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(
                condition=models.Q(("state__in", ["pending", "queued", "running"])),
                fields=["lane", "created_at"],
                name="deployment_lane_active",
            ),
        ),
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(
                condition=models.Q(
                    ("break_glass_reviewed_at__isnull", True), ("trigger", "break_glass")
                ),
                fields=["created_at"],
                name="deployment_glass_unreviewed",
            ),
        ),
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(
                condition=models.Q(("verification__in", ["open", "failed"])),
                fields=["created_at"],
                name="deployment_verification_open",
            ),
        ),
    ]
