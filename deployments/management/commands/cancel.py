"""manage.py cancel DEPLOYMENT_ID"""

from django.core.management.base import BaseCommand, CommandError

from deployments.engine import ActionRefused, cancel
from deployments.follow import summary


class Command(BaseCommand):
    help = (
        "Cancel a deployment: at once when pending or queued, at its next safe point when running."
    )

    def add_arguments(self, parser):
        parser.add_argument("deployment_id", type=int)

    def handle(self, *args, **options):
        try:
            deployment = cancel(options["deployment_id"])
        except ActionRefused as error:
            raise CommandError(str(error)) from None
        when = "now" if not deployment.is_final else ""
        self.stdout.write(f"cancel requested {when}: {summary(deployment)}".replace("  ", " "))
