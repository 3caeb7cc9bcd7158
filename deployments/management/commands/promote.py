"""manage.py promote SERVICE VERSION --to ENV [--wait] [--as USERNAME]
[--confirm-repromotion REASON]"""

from django.core.management.base import BaseCommand, CommandError

from deployments import promotion_rules as rules
from deployments.engine import DeploymentRequestError, request_deployment
from deployments.management.commands._deploy_cli import actor, add_actor_argument, report


class Command(BaseCommand):
    help = "Deploy a ready release of a service to an environment."

    def add_arguments(self, parser):
        parser.add_argument("service")
        parser.add_argument("version")
        parser.add_argument("--to", required=True, dest="environment", help="Environment name.")
        parser.add_argument("--wait", action="store_true", help="Follow it to the end.")
        parser.add_argument(
            "--confirm-repromotion",
            metavar="REASON",
            default="",
            help="Promote again a release rolled back from that environment, saying why.",
        )
        add_actor_argument(parser)

    def handle(self, *args, **options):
        user = actor(options)
        try:
            deployment = request_deployment(
                options["service"], options["version"], options["environment"], actor=user,
                repromotion_reason=options["confirm_repromotion"],
            )  # fmt: skip
        except DeploymentRequestError as error:
            raise CommandError(_with_what_to_do(error, options)) from None
        report(self, deployment, options["wait"])


def _with_what_to_do(error: DeploymentRequestError, options: dict) -> str:
    """The refusal, and how to go on from here (a rollback, a confirmation)."""
    kind = error.refusal.kind if error.refusal is not None else ""
    if kind == rules.RefusalKind.ROLLED_BACK:
        return f"{error} Add --confirm-repromotion 'REASON' to promote it again."
    if kind == rules.RefusalKind.OLDER and error.refusal.instead:
        return (
            f"{error} manage.py rollback {options['service']} --env {options['environment']} "
            f"--to {options['version']}"
        )
    return str(error)
