"""manage.py lift_throttle --list | --account NAME | --address IP | --token-prefix vzp_…
| --api-address IP"""

from django.core.management.base import BaseCommand, CommandError

from accounts import throttling
from accounts.throttling import Kind

OPTIONS = {
    "account": Kind.SIGNIN_ACCOUNT,
    "address": Kind.SIGNIN_ADDRESS,
    "token_prefix": Kind.API_PREFIX,
    "api_address": Kind.API_ADDRESS,
}


class Command(BaseCommand):
    help = "List the throttles refusing sign-ins and API calls now, or lift one (audited)."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--list", action="store_true", help="Show what is throttled now.")
        which.add_argument("--account", help="A username whose sign-ins are throttled.")
        which.add_argument("--address", help="A client address whose sign-ins are throttled.")
        which.add_argument("--token-prefix", help="An API token's visible prefix (vzp_…).")
        which.add_argument("--api-address", help="A client address whose API calls are throttled.")

    def handle(self, *args, **options):
        if options["list"]:
            self._list()
            return
        option, kind = next((o, k) for o, k in OPTIONS.items() if options[o] is not None)
        try:
            lifted = throttling.lift(kind, options[option], via="manage.py lift_throttle")
        except LookupError as missing:
            raise CommandError(f"{missing} See manage.py lift_throttle --list.") from None
        self.stdout.write(f"lifted: {lifted.kind.label.lower()} {lifted.subject}")

    def _list(self):
        throttles = throttling.active()
        if not throttles:
            self.stdout.write("Nothing is throttled now.")
        for throttle in throttles:
            option = next(o for o, k in OPTIONS.items() if k == throttle.kind)
            until = f"{throttle.until:%Y-%m-%d %H:%M:%S} UTC"
            self.stdout.write(f"--{option.replace('_', '-')} {throttle.subject}  until {until}")
