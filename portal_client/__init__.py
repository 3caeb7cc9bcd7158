"""A small client of the Deploy Portal's HTTP API for other repositories' CI.

Standard library and httpx only (no Django), so a CI job installs it with one
`pip install httpx` and runs `python -m portal_client`. It reads `PORTAL_URL` and
`PORTAL_TOKEN` from the environment; see `python -m portal_client --help`.
"""

from portal_client.api import ApiError, PortalClient

__all__ = ["ApiError", "PortalClient"]
