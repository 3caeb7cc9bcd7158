"""manage.py cancel DEPLOYMENT_ID [--as USERNAME]"""

from django.core.management.base import BaseCommand, CommandError

from deployments.engine import cancel
from deployments.follow import summary
from deployments.management.commands._deploy_cli import actor, add_actor_argument
from portal.refusals import ActionRefused


class Command(BaseCommand):
    help = "Cancel a deployment: at once when pending or queued, at its next look when running."

    def add_arguments(self, parser):
        parser.add_argument("deployment_id", type=int)
        add_actor_argument(parser)

    def handle(self, *args, **options):
        user = actor(options)
        try:
            deployment = cancel(user, options["deployment_id"])
        except ActionRefused as error:
            raise CommandError(str(error)) from None
        when = "now" if not deployment.is_final else ""
        self.stdout.write(f"cancel requested {when}: {summary(deployment)}".replace("  ", " "))
