"""The credentials a build uses, masked out of everything it writes (log, reason, audit).

The log's own masking (`portal.masking`) already hides credentials by their shape and
place (`user:password@` in a URL, `Authorization: …`); this masks their values too,
wherever git, dockerd or the registry might echo them.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

from catalog.models import Service
from integrations import registry
from portal.masking import MASK, MIN_SECRET_LENGTH


class BuildMasker:
    def __init__(self, secrets: list[str]):
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]

    @classmethod
    def for_service(cls, service: Service) -> "BuildMasker":
        host = registry.RepositoryName.parse(service.image_repository).host
        try:
            credentials = registry.credentials_for(host)
        except registry.RegistryError:
            credentials = None  # the push reports the unreadable file
        secrets = git_passwords()
        if credentials:
            secrets.append(credentials.password)
        return cls(secrets)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def git_passwords() -> list[str]:
    """The passwords (tokens) of PORTAL_GIT_CREDENTIALS_FILE's https://user:token@host lines."""
    path = settings.PORTAL_GIT_CREDENTIALS_FILE
    if not path:
        return []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    passwords = []
    for line in lines:
        parts = urlsplit(line.strip())
        if parts.password:
            passwords += [parts.password, unquote(parts.password)]
    return passwords
