"""At most one active promotion of a release per environment, kept by the database.

Before it, two quick Promote clicks could both pass the check made outside the
transaction. Rows such clicks left behind would make the constraint fail to build with
an IntegrityError that names no deployment; this migration names them instead and asks
for one of each pair to be cancelled (it changes no deployment's state itself: which one
to keep is a person's call, and an ending is announced and audited by the engine).
"""

from django.db import migrations, models
from django.db.models import Count

ACTIVE = ["pending", "queued", "running"]
PROMOTIONS = ["api", "promote"]


def refuse_duplicates(apps, schema_editor):
    Deployment = apps.get_model("deployments", "Deployment")
    active = Deployment.objects.filter(state__in=ACTIVE, trigger__in=PROMOTIONS)
    pairs = (
        active.values("release_id", "environment_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by()
    )
    duplicates = [
        sorted(
            active.filter(
                release_id=pair["release_id"], environment_id=pair["environment_id"]
            ).values_list("id", flat=True)
        )
        for pair in pairs
    ]
    if duplicates:
        listed = "; ".join(", ".join(f"#{pk}" for pk in ids) for ids in duplicates)
        raise RuntimeError(
            "Some releases have more than one active promotion to the same environment "
            f"({listed}). Cancel all but one of each group (Cancel on the deployment's "
            "page, or manage.py cancel ID), then run the migrations again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0011_release_build_log_bytes"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="deployment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ACTIVE), ("trigger__in", PROMOTIONS)),
                fields=("release", "environment"),
                name="one_active_promotion_per_release",
            ),
        ),
    ]
