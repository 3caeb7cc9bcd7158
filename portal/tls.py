"""The certificate authorities the portal trusts when it speaks TLS to a service."""

import ssl

from django.conf import settings


def trusted_context() -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus PORTAL_EXTRA_CA_FILE when set
    (an internal CA: kubesim's in the demo and the tests)."""
    context = ssl.create_default_context()
    if settings.PORTAL_EXTRA_CA_FILE:
        context.load_verify_locations(settings.PORTAL_EXTRA_CA_FILE)
    return context
