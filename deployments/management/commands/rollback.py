"""manage.py rollback SERVICE --env ENV [--to VERSION] [--wait] [--as USERNAME]"""

from django.core.management.base import BaseCommand, CommandError

from deployments.engine import DeploymentRequestError, request_rollback
from deployments.management.commands._deploy_cli import actor, add_actor_argument, report


class Command(BaseCommand):
    help = "Re-apply a release (default: the one that succeeded before the current one)."

    def add_arguments(self, parser):
        parser.add_argument("service")
        parser.add_argument("--env", required=True, dest="environment", help="Environment name.")
        parser.add_argument("--to", dest="version", help="Version to roll back to.")
        parser.add_argument("--wait", action="store_true", help="Follow it to the end.")
        add_actor_argument(parser)

    def handle(self, *args, **options):
        user = actor(options)
        try:
            deployment = request_rollback(
                options["service"],
                options["environment"],
                to_version=options["version"],
                actor=user,
            )
        except DeploymentRequestError as error:
            raise CommandError(str(error)) from None
        report(self, deployment, options["wait"])
