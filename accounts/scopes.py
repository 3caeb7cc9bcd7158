"""The scopes a CI token may hold: the one place each is spelled.

A leaf module (Django's TextChoices only, no models), so permission checks in
accounts/roles.py and the API import it at module level.
"""

from django.db import models


class Scope(models.TextChoices):
    """What a CI token may do; a personal token may do what its owner's roles allow."""

    RELEASES_WRITE = "releases:write", "Register and build releases (and follow them)"
    CI_REPORT = "ci:report", "Report CI results"
    DEPLOYMENTS_WRITE = (
        "deployments:write",
        "Request, cancel and follow deployments (named environments)",
    )
    READ = "read", "Read releases, deployments and environments"
