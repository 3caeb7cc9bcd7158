"""Kubernetes: the client, migration Jobs, the observer's reads, diagnostics and doom rules."""
