"""manage.py build_release SERVICE VERSION --ref REF [--wait] [--as USERNAME]"""

import time

from django.core.management.base import BaseCommand, CommandError

from deployments.management.commands._deploy_cli import INTERRUPTED, actor, add_actor_argument
from releases.build_requests import earlier_attempts_output_end, request_build
from releases.models import BuildLogLine, Release
from releases.registration import ReleaseError
from releases.states import ReleaseState

POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = "Build a release of a service from a git ref on the portal's Docker engine."

    def add_arguments(self, parser):
        parser.add_argument("service", help="Service name from the catalog, e.g. web.")
        parser.add_argument("version", help="Release version, e.g. 2.1.0 (the image tag).")
        parser.add_argument("--ref", required=True, help="Branch, tag or commit to build.")
        parser.add_argument("--git-sha", default="", help="The commit, if known.")
        parser.add_argument("--notes", default="", help="Release notes.")
        parser.add_argument("--wait", action="store_true", help="Print the output to the end.")
        add_actor_argument(parser)

    def handle(self, *args, **options):
        try:
            release = request_build(
                options["service"], options["version"], options["ref"],
                git_sha=options["git_sha"], notes=options["notes"], actor=actor(options),
            )  # fmt: skip
        except ReleaseError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"building {release} from {release.git_ref} (release #{release.pk})")
        if not options["wait"]:
            return
        try:
            release = self.follow(release.pk)
        except KeyboardInterrupt:
            self.stdout.write(f"\n{release} is still building; the workers carry on.")
            raise SystemExit(INTERRUPTED) from None
        if release.state != ReleaseState.READY:
            raise CommandError(f"the build of {release} failed: {release.reason}")
        self.stdout.write(f"built {release}: {release.image}")

    def follow(self, release_id: int) -> Release:
        """Print this attempt's build output as it is stored until the release is ready or
        failed (a rebuild's earlier attempts are on the release page, not printed again)."""
        after = earlier_attempts_output_end(release_id)
        while True:
            # The state first: lines stored before it ended are then all read below.
            release = Release.objects.select_related("service").get(pk=release_id)
            lines = BuildLogLine.objects.filter(release_id=release_id, seq__gt=after)
            for seq, text in lines.order_by("seq").values_list("seq", "text"):
                self.stdout.write(text)
                after = seq
            if release.state != ReleaseState.BUILDING:
                return release
            time.sleep(POLL_SECONDS)
