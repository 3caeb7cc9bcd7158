"""What promote, rollback and cancel share: who acts, printing, following, the exit status."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import CommandError

from deployments.follow import deployment_url, follow, summary
from deployments.states import DeploymentState

# The shell's convention for "ended by SIGINT" (128 + 2).
INTERRUPTED = 130


def add_actor_argument(parser) -> None:
    parser.add_argument(
        "--as", dest="username", metavar="USERNAME",
        help="Act as this portal user, checked by the same rules as in the browser "
        "(default: the system, an operator on the portal's host).",
    )  # fmt: skip


def actor(options) -> User | None:
    """The user named by --as (active, or a CommandError naming them); None for the system."""
    username = options.get("username")
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(
            f"no active user {username!r}; give the username of an active portal account, "
            "or leave out --as to act as the system."
        )
    return user


def report(command, deployment, wait: bool) -> None:
    """Print where to watch; with `wait`, follow to the end and fail unless it succeeded.

    Ctrl-C stops only the following: the deployment is in the database and the
    workers carry on, so say where to follow it and exit 130 without a traceback.
    """
    url = deployment_url(deployment)
    command.stdout.write(f"{summary(deployment)}\n{url}")
    if not wait:
        return
    try:
        final = follow(deployment.pk, command.stdout.write)
    except KeyboardInterrupt:
        # No query here: the interrupt may have landed inside one.
        command.stdout.write(f"\n#{deployment.pk} is still running; follow it at {url}")
        raise SystemExit(INTERRUPTED) from None
    command.stdout.write(summary(final))
    if final.state != DeploymentState.SUCCEEDED:
        raise CommandError(f"deployment #{final.pk} did not succeed ({final.state})")
