"""A thread reads a cluster's kubeconfig once and keeps its connection (issue 21: a
look parsed the kubeconfig and opened a connection each time, more CPU than its
requests), and reads it again when the file changes."""

import threading

from catalog.models import Cluster
from integrations.kube.cluster import ClusterClient

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: development
  cluster: {{server: "http://127.0.0.1:{port}"}}
contexts:
- name: development
  context: {{cluster: development, user: portal}}
current-context: development
users:
- name: portal
  user: {{token: not-a-secret}}
"""


def cluster_at(tmp_path, port: int) -> Cluster:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(port=port))
    return Cluster(name="development", kubeconfig_path=str(path), context="development")


def api_client_of(cluster: Cluster):
    with ClusterClient(cluster) as kube:
        return kube.api_client


def test_a_thread_reads_the_kubeconfig_once_for_every_client_of_the_cluster(tmp_path):
    cluster = cluster_at(tmp_path, 6443)
    first = api_client_of(cluster)
    assert api_client_of(cluster) is first
    assert first.configuration.host == "http://127.0.0.1:6443"


def test_a_rewritten_kubeconfig_is_read_again(tmp_path):
    cluster = cluster_at(tmp_path, 6443)
    before = api_client_of(cluster)
    cluster_at(tmp_path, 16443)  # the same file, another port (and size)
    after = api_client_of(cluster)
    assert after is not before
    assert after.configuration.host == "http://127.0.0.1:16443"


def test_each_thread_has_a_client_of_its_own(tmp_path):
    cluster = cluster_at(tmp_path, 6443)
    mine = api_client_of(cluster)
    theirs = []
    other = threading.Thread(target=lambda: theirs.append(api_client_of(cluster)))
    other.start()
    other.join()
    assert theirs[0] is not mine
    assert theirs[0].configuration.host == mine.configuration.host
