"""Indexes for a long history: a lane's newest deployments, a service's newest releases and
deployments, the release by image, and the few rows the pages read on every request (in
flight, unreviewed break-glass, open verifications, rollouts that found drift)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0006_audit_person_timeline"),
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
            index=models.Index(fields=["service", "created_at"], name="deployment_service_newest"),
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
        migrations.AddIndex(
            model_name="release",
            index=models.Index(fields=["service", "image"], name="release_by_image"),
        ),
        migrations.AddIndex(
            model_name="release",
            index=models.Index(fields=["service", "created_at"], name="release_newest"),
        ),
        migrations.AddIndex(
            model_name="step",
            index=models.Index(
                condition=models.Q(("kind", "rollout"), ("result__has_key", "drift")),
                fields=["deployment"],
                name="step_rollout_drift",
            ),
        ),
    ]
