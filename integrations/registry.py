"""A small Docker registry (distribution v2) client: resolve `repo:tag` to its digest.

Only what the portal needs: a HEAD (then GET) of `/v2/<name>/manifests/<tag>` with the
Accept headers of Docker v2 schema 2 and OCI manifests and indexes, read from
`Docker-Content-Digest`. Registries on 127.0.0.1 / localhost are spoken to over http
(as dockerd treats 127.0.0.0/8 as insecure), every other one over https.

Credentials come from the file PORTAL_REGISTRY_CREDENTIALS_FILE in docker's own
`config.json` format (what `docker login` writes, so CI can hand the portal the file it
already has): `{"auths": {"127.0.0.1:5000": {"auth": base64("user:password")}}}` or
`{"auths": {"host": {"username": ..., "password": ...}}}`. Basic and bearer-token
authentication (the registry's `WWW-Authenticate` challenge) both work; the
credentials are never part of an error message.
"""

import base64
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.conf import settings

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
DOCKER_HUB = "registry-1.docker.io"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(RuntimeError):
    """The registry could not answer, refused, or has no such tag; the message says which."""


class TagNotFound(RegistryError):
    """The registry answered, and the tag (or the repository) is not there."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class RepositoryName:
    """`127.0.0.1:5000/team/web` split into the registry host and the path in it."""

    host: str
    path: str

    @classmethod
    def parse(cls, repository: str) -> "RepositoryName":
        first, _, rest = repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest)
        # No registry host: Docker Hub, where one-part names live under library/.
        return cls(DOCKER_HUB, repository if rest else f"library/{repository}")

    @property
    def base_url(self) -> str:
        """http for a loopback registry (dockerd treats 127.0.0.0/8 as insecure), else https."""
        return f"{'http' if is_loopback(self.host) else 'https'}://{self.host}"


def is_loopback(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credentials_for(host: str) -> Credentials | None:
    """The credentials the credentials file holds for a registry host, or None."""
    path = settings.PORTAL_REGISTRY_CREDENTIALS_FILE
    if not path:
        return None
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise RegistryError(
            f"The registry credentials file {path} cannot be read as JSON "
            f"({type(error).__name__}); fix PORTAL_REGISTRY_CREDENTIALS_FILE."
        ) from None
    entry = (config.get("auths") or {}).get(host) if isinstance(config, dict) else None
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            raise RegistryError(
                f"The `auth` of {host} in {path} is not base64 of user:password."
            ) from None
        return Credentials(username, password)
    if entry.get("username"):
        return Credentials(entry["username"], entry.get("password", ""))
    return None


def resolve_digest(repository: str, tag: str) -> str:
    """The manifest digest (`sha256:…`) the registry holds for `repository:tag`.

    Raises TagNotFound when the registry has no such tag, RegistryError when it cannot
    be reached, refuses the credentials, or answers something else.
    """
    name = RepositoryName.parse(repository)
    url = f"{name.base_url}/v2/{name.path}/manifests/{tag}"
    with RegistrySession(name) as session:
        response = session.request("HEAD", url)
        if response.status_code == 200 and _digest_of(response):
            return _digest_of(response)
        # HEAD has no body: ask again with GET to read the digest or the error.
        response = session.request("GET", url)
    if response.status_code == 200:
        digest = _digest_of(response) or f"sha256:{hashlib.sha256(response.content).hexdigest()}"
        return digest
    if response.status_code == 404:
        raise TagNotFound(
            f"{repository}:{tag} does not exist in the registry {name.host} "
            f"(it answered: {_error_text(response)}); push the image first or check the tag."
        )
    raise RegistryError(
        f"The registry {name.host} answered {response.status_code} for {repository}:{tag}: "
        f"{_error_text(response)}"
    )


class RegistrySession:
    """An httpx client that answers the registry's Basic or Bearer challenge once."""

    def __init__(self, name: RepositoryName):
        self.name = name
        self.client = httpx.Client(timeout=settings.PORTAL_REGISTRY_TIMEOUT_SECONDS)
        self.authorization: str | None = None

    def __enter__(self) -> "RegistrySession":
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def request(self, method: str, url: str) -> httpx.Response:
        response = self._send(method, url)
        if response.status_code == 401 and self.authorization is None:
            self.authorization = self._answer_challenge(response)
            response = self._send(method, url)
        if response.status_code in (401, 403):
            raise RegistryError(
                f"The registry {self.name.host} refused access to {self.name.path} "
                f"({response.status_code}: {_error_text(response)}); check its entry in "
                "PORTAL_REGISTRY_CREDENTIALS_FILE."
            )
        return response

    def _send(self, method: str, url: str) -> httpx.Response:
        headers = {"Accept": MANIFEST_TYPES}
        if self.authorization:
            headers["Authorization"] = self.authorization
        try:
            return self.client.request(method, url, headers=headers)
        except httpx.HTTPError as error:
            raise RegistryError(
                f"The registry {self.name.host} cannot be reached ({type(error).__name__}: "
                f"{error}); check that it runs and that {self.name.base_url} is right."
            ) from None

    def _answer_challenge(self, response: httpx.Response) -> str | None:
        challenge = response.headers.get("WWW-Authenticate", "")
        credentials = credentials_for(self.name.host)
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic" and credentials:
            pair = f"{credentials.username}:{credentials.password}".encode()
            return f"Basic {base64.b64encode(pair).decode()}"
        if scheme == "bearer":
            return self._bearer_token(dict(CHALLENGE_PARAM.findall(challenge)), credentials)
        return None

    def _bearer_token(self, params: dict, credentials: Credentials | None) -> str | None:
        realm = params.pop("realm", "")
        if not realm:
            return None
        params.setdefault("scope", f"repository:{self.name.path}:pull")
        auth = (credentials.username, credentials.password) if credentials else None
        try:
            answer = self.client.get(realm, params=params, auth=auth)
        except httpx.HTTPError as error:
            raise RegistryError(
                f"The token service of {self.name.host} cannot be reached ({type(error).__name__})."
            ) from None
        if answer.status_code != 200:
            raise RegistryError(
                f"The token service of {self.name.host} refused a token "
                f"({answer.status_code}); check PORTAL_REGISTRY_CREDENTIALS_FILE."
            )
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        return f"Bearer {token}" if token else None


def _digest_of(response: httpx.Response) -> str:
    digest = response.headers.get("Docker-Content-Digest", "")
    return digest if DIGEST.match(digest) else ""


def _error_text(response: httpx.Response) -> str:
    """The registry's own words: its `errors` list, else the start of the body."""
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(f"{e.get('code', '?')}: {e.get('message', '')}" for e in errors)
    except (ValueError, AttributeError):
        text = ""
    return text or response.text[:200].strip() or response.reason_phrase or "no message"
