"""A real TLS handshake to fetch a server's certificate, and how to name what it holds."""

import socket
import ssl

from cryptography import x509
from cryptography.x509.oid import NameOID

from portal.tls import trusted_context

SHOWN_NAMES = 4  # a certificate covering more host names is summarised after these


def peer_certificate(
    address: tuple[str, int], server_name: str, timeout: float, verify: bool = True
) -> x509.Certificate:
    """Connect to `address`, send `server_name` as SNI and return the certificate served.

    With `verify`, the chain must lead to a trusted CA (portal.tls) and the certificate
    must cover `server_name`, else ssl.SSLCertVerificationError says why. Without it,
    the certificate is returned whatever it is (to describe one that failed).
    Connection problems raise OSError (ConnectionRefusedError, TimeoutError, …).
    """
    context = trusted_context() if verify else _accepting_context()
    with (
        socket.create_connection(address, timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None  # the handshake is done: the server presented its certificate
        return x509.load_der_x509_certificate(der)


def _accepting_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def issuer_name(certificate: x509.Certificate) -> str:
    """The issuer's common name (or organisation), as people call a CA."""
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        if found := certificate.issuer.get_attributes_for_oid(oid):
            return str(found[0].value)
    return certificate.issuer.rfc4514_string() or "an unnamed issuer"


def covered_names(certificate: x509.Certificate) -> str:
    """The host names the certificate covers (its DNS subject alternative names, else
    its common name), the first few of them."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = extension.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [
            str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    if not names:
        return "no host name"
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown
