"""manage.py seed_demo: demo users and releases for `make run` (PORTAL_DEV=true only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import seed


class Command(BaseCommand):
    help = "Create the demo users (one per role) and demo releases. Development mode only."

    def add_arguments(self, parser):
        parser.add_argument(
            "--build-repositories",
            metavar="DIR",
            help="build each service from DIR/<service> (the demo's git repositories)",
        )
        parser.add_argument(
            "--build-registry",
            metavar="HOST:PORT",
            help="push built images to this registry (with --build-repositories)",
        )

    def handle(self, *args, **options):
        if not settings.DEV_MODE:
            raise CommandError(
                "seed_demo creates users with known passwords; run it only with PORTAL_DEV=true."
            )
        if options["build_repositories"] and not options["build_registry"]:
            raise CommandError("--build-repositories needs --build-registry HOST:PORT.")
        users = seed.create_demo_users()
        releases = seed.register_demo_releases()
        self.stdout.write(f"demo releases registered: {len(releases)} new")
        baseline = seed.record_demo_baseline()
        self.stdout.write(f"{seed.BASELINE_VERSION} recorded as running in {baseline} new lanes")
        if options["build_repositories"]:
            services = seed.point_services_at_demo_builds(
                options["build_repositories"], options["build_registry"]
            )
            self.stdout.write(
                f"{len(services)} services build from {options['build_repositories']}/<service> "
                f"and push to {options['build_registry']}"
            )
        self.stdout.write("")
        self.stdout.write(f"Demo users (sign in at {settings.PORTAL_BASE_URL}/login/):")
        for user in users:
            self.stdout.write(f"  {user.role:<9} {user.username:<6} password: {user.password}")
