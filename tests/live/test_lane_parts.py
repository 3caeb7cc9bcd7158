"""A lane's print is named in one place: importing the hub's fingerprints alone gives
every part (before, what a cluster runs was added only once `what_runs` was imported)."""

import subprocess
import sys

from django.conf import settings

PROGRAM = """
import django
django.setup()
import sys
from live.fingerprints import lane_parts
print(",".join(part.__name__ for part in lane_parts()))
print("deployments.what_runs" in sys.modules)
"""


def test_the_fingerprints_alone_name_every_part_of_a_lanes_print():
    environment = {"DJANGO_SETTINGS_MODULE": "portal.settings_test", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60,
        cwd=settings.BASE_DIR, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parts, imported_what_runs = result.stdout.split()
    assert parts == "lane_environment,lane_deployments,lane_observation"
    assert imported_what_runs == "False", "no part is added by importing a page's read model"
