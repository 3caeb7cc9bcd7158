"""The README's kubectl examples, run as written against the demo's three clusters:
together they show what every one of them runs."""

import re
import shlex
import shutil
import subprocess

import pytest

from kubesim.testing import KubeSim
from tests.harness.worker import REPO

pytestmark = pytest.mark.kubectl

DEMO_KUBECONFIG = "var/kubesim/kubeconfig"
NAMESPACES = {"development": "vizora-dev", "staging": "vizora-staging", "production": "vizora-prod"}


def readme_kubectl_commands() -> list[str]:
    section = (REPO / "README.md").read_text().split("**From the command line**", 1)[1]
    block = re.search(r"^```sh\n(.*?)^```", section, re.M | re.S)
    assert block, "no ```sh block under 'From the command line' in README.md"
    return [line.split("#", 1)[0] for line in block[1].splitlines() if line.startswith("kubectl ")]


def test_the_readme_kubectl_examples_show_all_three_demo_clusters(tmp_path):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    commands = readme_kubectl_commands()
    assert commands, "the README shows no kubectl command"
    with KubeSim(REPO / "examples" / "kubesim-vizora.yaml", workdir=tmp_path / "kubesim") as sim:
        printed = ""
        for command in commands:
            argv = [str(sim.kubeconfig) if arg == DEMO_KUBECONFIG else arg
                    for arg in shlex.split(command)]  # fmt: skip
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{command}: {done.stderr}"
            printed += done.stdout
    for cluster, namespace in NAMESPACES.items():
        assert re.search(rf"^{namespace}\s+vizora-web\s", printed, re.M), (cluster, printed)
