"""kubesim.testing: ports are reported, kubeconfig contexts work, restart keeps the ports."""

from __future__ import annotations

import json

import httpx
import yaml

from kubesim.testing import VIZORA_CONFIG, KubeSim


def test_restart_keeps_ports_and_resets_state(tmp_path):
    config = yaml.safe_load(VIZORA_CONFIG.read_text())
    config["clusters"] = config["clusters"][:1]
    with KubeSim(config, speed=10, workdir=tmp_path) as sim:
        development = sim.cluster("development")
        assert development.context == "development"
        assert development.api_port != 7001  # ephemeral, never the demo port
        kubeconfig = yaml.safe_load(sim.kubeconfig.read_text())
        assert kubeconfig["contexts"][0]["name"] == "development"
        assert kubeconfig["clusters"][0]["cluster"]["server"] == development.api_url
        assert (
            json.loads(sim.ports_file.read_text())["clusters"]["development"]["api_port"]
            == development.api_port
        )
        url = f"{development.api_url}/api/v1/namespaces/vizora-dev/secrets"
        secret = {"metadata": {"name": "temporary"}, "stringData": {"k": "v"}}
        assert httpx.post(url, json=secret).status_code == 201
        sim.kill()
        assert not sim.running
        sim.restart()
        assert sim.running
        assert sim.cluster("development") == development
        assert httpx.get(f"{url}/temporary").status_code == 404
        assert httpx.get(f"{url}/vizora-secrets").status_code == 200
