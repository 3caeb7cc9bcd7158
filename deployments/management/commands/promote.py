"""manage.py promote SERVICE VERSION --to ENV [--wait] [--as USERNAME]"""

from django.core.management.base import BaseCommand, CommandError

from deployments.engine import DeploymentRequestError, request_deployment
from deployments.management.commands._deploy_cli import actor, add_actor_argument, report


class Command(BaseCommand):
    help = "Deploy a ready release of a service to an environment."

    def add_arguments(self, parser):
        parser.add_argument("service")
        parser.add_argument("version")
        parser.add_argument("--to", required=True, dest="environment", help="Environment name.")
        parser.add_argument("--wait", action="store_true", help="Follow it to the end.")
        add_actor_argument(parser)

    def handle(self, *args, **options):
        user = actor(options)
        try:
            deployment = request_deployment(
                options["service"], options["version"], options["environment"], actor=user
            )
        except DeploymentRequestError as error:
            raise CommandError(str(error)) from None
        report(self, deployment, options["wait"])
