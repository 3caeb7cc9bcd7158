"""tls_valid: each https host of the environment serves, in a real TLS handshake, a
certificate that a trusted CA signed (the system's CAs plus PORTAL_EXTRA_CA_FILE),
that covers the host name, and that stays valid for at least `min_days` more days.

params: {min_days: int (default 14), urls: [names of environment.urls] (optional:
every https URL of the environment)}

The handshake goes to the environment's `resolve` address for the host when it has
one (like curl --resolve), with the URL's host as the server name (SNI).
"""

import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography import x509
from django.conf import settings
from django.utils import timezone

from deployments.checks import CheckResult, failed, passed
from deployments.checks.certificates import covered_names, issuer_name, peer_certificate
from deployments.checks.evidence import age

DEFAULT_MIN_DAYS = 14
HTTPS_PORT = 443
# OpenSSL's verify codes worth a sentence of their own (X509_V_ERR_…).
CERT_HAS_EXPIRED, HOSTNAME_MISMATCH = 10, 62


@dataclass(frozen=True)
class Target:
    label: str  # the host, with its port when not 443
    server_name: str  # sent as SNI and matched against the certificate
    address: tuple[str, int]  # where the handshake goes
    route: str  # "via 127.0.0.1:7103" (resolve map) or "at api.vizora.com:443"


def check(deployment, params: dict) -> CheckResult:
    environment = deployment.environment
    min_days = int(params.get("min_days") or DEFAULT_MIN_DAYS)
    targets, problems = _targets(environment, params.get("urls"))
    if problems:
        return failed(" ".join(problems))
    if not targets:
        return failed(  # nothing checked is not a pass
            f"{environment.name} has no https URL, so no certificate was checked; give it "
            "https URLs, or drop the item from its checklist."
        )
    deadline = time.monotonic() + settings.PORTAL_CHECK_TIMEOUT_SECONDS
    findings = [_inspect(target, min_days, deadline) for target in targets]
    evidence = " ".join(text for _, text in findings)
    return passed(evidence) if all(ok for ok, _ in findings) else failed(evidence)


def _targets(environment, names: list[str] | None) -> tuple[list[Target], list[str]]:
    """The hosts to check (each once) and what is wrong with the URLs asked for."""
    if names is None:
        urls = [url for url in environment.urls.values() if urlsplit(url).scheme == "https"]
        problems: list[str] = []
    else:
        urls, problems = _named_urls(environment, names)
    targets = []
    for url in urls:
        try:
            targets.append(_target(url, environment.resolve))
        except ValueError as error:  # a port or resolve address the catalog let through
            problems.append(f"Cannot check {urlsplit(url).hostname}: {error}.")
    return _unique(targets), problems


def _named_urls(environment, names: list[str]) -> tuple[list[str], list[str]]:
    urls, problems = [], []
    for name in names:
        url = environment.urls.get(name)
        if url is None:
            known = ", ".join(sorted(environment.urls)) or "none"
            problems.append(f"{environment.name} has no URL named {name!r} (it has: {known}).")
        elif (parts := urlsplit(url)).scheme != "https":
            problems.append(
                f"URL {name} of {environment.name} is not https ({parts.scheme}://{parts.hostname})."
            )
        else:
            urls.append(url)
    return urls, problems


def _target(url: str, resolve: dict[str, str]) -> Target:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or HTTPS_PORT
    assert host is not None  # the catalog keeps URLs with a host (catalog_file/values.py)
    label = host if port == HTTPS_PORT else f"{host}:{port}"
    if resolved := resolve.get(host):
        address, _, address_port = resolved.rpartition(":")
        if not address or not address_port.isdigit():
            raise ValueError(f"its resolve address {resolved!r} is not host:port")
        return Target(label, host, (address, int(address_port)), f"via {resolved}")
    return Target(label, host, (host, port), f"at {host}:{port}")


def _unique(targets) -> list[Target]:
    return list(dict.fromkeys(targets))


def _inspect(target: Target, min_days: int, deadline: float) -> tuple[bool, str]:
    """(passed, one sentence of evidence) for one host."""
    head = f"{target.label} ({target.route}):"
    timeout = settings.PORTAL_CHECK_TIMEOUT_SECONDS
    left = deadline - time.monotonic()
    if left <= 0:
        return False, f"{head} not checked: the check's {timeout:g} s were spent before it."
    try:
        certificate = peer_certificate(target.address, target.server_name, left)
    except ssl.SSLCertVerificationError as error:
        return False, f"{head} {_untrusted(target, error, deadline)}."
    except TimeoutError:
        return False, f"{head} no TLS answer within {timeout:g} s (timeout)."
    except ConnectionRefusedError:
        return False, f"{head} connection refused."
    except ssl.SSLError as error:
        return False, f"{head} TLS handshake failed: {error.reason or error}."
    except OSError as error:
        return False, f"{head} cannot connect: {error.strerror or error}."
    return _validity(head, target, certificate, min_days)


def _validity(head: str, target: Target, certificate: x509.Certificate, min_days: int):
    until = certificate.not_valid_after_utc
    left = until - timezone.now()
    about = f"certificate for {target.server_name}, issued by {issuer_name(certificate)}"
    required = f"at least {min_days} d required"
    if left < timedelta(days=min_days):
        return False, f"{head} {about}, expires in {age(left)} ({until:%Y-%m-%d}); {required}."
    return True, f"{head} {about}, valid until {until:%Y-%m-%d} ({left.days} d left; {required})."


def _untrusted(target: Target, error: ssl.SSLCertVerificationError, deadline: float) -> str:
    """Why verification failed, with what the certificate says when it can be fetched."""
    certificate = _unverified_certificate(target, deadline)
    if certificate is None:
        return f"verify failed: {error.verify_message}"
    if error.verify_code == CERT_HAS_EXPIRED:
        until = certificate.not_valid_after_utc
        ago = age(timezone.now() - until)
        return f"certificate for {covered_names(certificate)} expired {until:%Y-%m-%d} ({ago} ago)"
    if error.verify_code == HOSTNAME_MISMATCH:
        return (
            f"wrong host: the certificate covers {covered_names(certificate)}, "
            f"not {target.server_name}"
        )
    return (
        f"verify failed: {error.verify_message} (certificate for {covered_names(certificate)}, "
        f"issued by {issuer_name(certificate)})"
    )


def _unverified_certificate(target: Target, deadline: float) -> x509.Certificate | None:
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        return peer_certificate(target.address, target.server_name, left, verify=False)
    except (OSError, ValueError):  # ssl.SSLError is an OSError; a certificate DER a ValueError
        return None
