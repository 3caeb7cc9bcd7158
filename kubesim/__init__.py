"""kubesim: a stand-alone Kubernetes API simulator for tests and demos.

It speaks enough of the real API (JSON over HTTP/1.1) for the real kubectl and
the official Python client, runs a simulated Deployment/ReplicaSet/Pod/Job
controller, and puts an HTTP "front door" in front of each cluster's pods.
Nothing here imports Django: the portal uses kubesim only over HTTP.
"""

__version__ = "0.1.0"
