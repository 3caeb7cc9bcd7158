"""manage.py report_ci SHA --state passed|failed --url URL"""

from django.core.management.base import BaseCommand, CommandError

from deployments.ci_results import CIReportError, report_ci


class Command(BaseCommand):
    help = "Record CI's test result for a git commit (feeds the tests_passed check)."

    def add_arguments(self, parser):
        parser.add_argument("git_sha", help="The commit CI tested (7 to 40 hex digits).")
        parser.add_argument("--state", required=True, choices=("passed", "failed"))
        parser.add_argument("--url", default="", help="Link to the CI run.")
        parser.add_argument(
            "--reporter",
            default="manage.py report_ci",
            help="Who reports (shown on the item): the CI system or the operator's name.",
        )

    def handle(self, *args, **options):
        try:
            result = report_ci(
                options["git_sha"], options["state"], options["url"], reporter=options["reporter"]
            )
        except CIReportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"recorded: commit {result.git_sha} {result.state}")
