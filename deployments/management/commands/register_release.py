"""manage.py register_release SERVICE VERSION --image REPO:TAG@sha256:DIGEST"""

from django.core.management.base import BaseCommand, CommandError

from releases.registration import ReleaseError, register_release, tag_mismatch_warning


class Command(BaseCommand):
    help = "Register a ready release of an image that is already built and pushed."

    def add_arguments(self, parser):
        parser.add_argument("service", help="Service name from the catalog, e.g. web.")
        parser.add_argument("version", help="Release version, e.g. 2.1.0.")
        parser.add_argument("--image", required=True, help="REPO:TAG@sha256:DIGEST")
        parser.add_argument("--git-sha", default="", help="Commit the image was built from.")
        parser.add_argument("--notes", default="", help="Release notes.")

    def handle(self, *args, **options):
        try:
            release = register_release(
                options["service"],
                options["version"],
                options["image"],
                git_sha=options["git_sha"],
                notes=options["notes"],
            )
        except ReleaseError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"registered {release.service.name} {release.version}: {release.image}")
        warning = tag_mismatch_warning(release)
        if warning:
            self.stderr.write(f"warning: {warning}", self.style.WARNING)
