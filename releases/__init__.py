"""Releases: images of a service, built by the portal or registered by CI; their
build log and what CI reported."""
