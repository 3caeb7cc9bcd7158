"""The clients of the outside world: Kubernetes, Docker builds, the registry."""
