"""The build adapter: `docker build` a service's checkout and push the image.

The checkout (a shallow clone at the ref) is integrations.git_clone.

Through the docker SDK's low-level API (`client.api.build(..., decode=True)` and
`push(stream=True)`), because the high-level calls return only at the end and the
portal streams every line as it comes. A push failure arrives in-band, as an `error`
chunk of an HTTP 200 (docker-py #1772): every chunk is checked, and a push that ends
without an `aux.Digest` fails. The classic builder (no BuildKit) runs each step with
host networking, as nothing else exists on these machines.

Stopping (cancellation, timeout): `should_stop()` is asked every
PORTAL_BUILD_POLL_SECONDS by a watcher thread. Once it gives a reason, the reading loop
leaves the stream at the next chunk, and closing the stream's connection makes dockerd
abandon the build and remove its container. A step that prints nothing (a long `RUN`)
sends no chunk, so the watcher also kills the step's build container (named in the
"Running in <id>" line), again at every poll until the build has ended: a kill sent
between the container's creation and its start is refused, and the next one lands.
"""

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
from django.conf import settings
from django.db import connection
from docker.errors import APIError, DockerException

from integrations import registry
from portal.log_lines import cut_long_line

log = logging.getLogger(__name__)

Line = Callable[[str], None]
StopReason = Callable[[], str | None]  # why to stop now, or None to go on

RUNNING_IN = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})\s*$")
STEP = re.compile(r"^Step \d+/\d+ : ")
TAIL_LINES = 20


class BuildFailed(RuntimeError):
    """The clone, the build or the push failed; the message is the reason to record."""


class BuildStopped(BuildFailed):
    """Stopped on purpose (cancelled, timed out); the message says by whom or why."""


@dataclass(frozen=True)
class BuiltImage:
    repository: str
    tag: str
    digest: str
    size: int

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}@{self.digest}"


@dataclass(frozen=True)
class BuildSpec:
    """What to build: a checkout, the catalog's Dockerfile, context and args, the tag."""

    checkout: Path
    dockerfile: str
    context: str
    build_args: dict
    repository: str
    tag: str


def docker_client() -> docker.DockerClient:
    """A client of DOCKER_HOST; BuildFailed naming it when the engine does not answer."""
    try:
        _check_unix_socket(settings.DOCKER_HOST)
        return docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=30)
    except (DockerException, OSError) as error:
        raise BuildFailed(
            f"The Docker engine at {settings.DOCKER_HOST} cannot be reached ({error}); "
            "check that dockerd runs and that DOCKER_HOST is right."
        ) from None


def _check_unix_socket(host: str) -> None:
    """Connect once ourselves: the SDK leaks its socket when a unix socket refuses it."""
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        probe.connect(host.removeprefix("unix://"))


# -- build and push ----------------------------------------------------------------


def build_and_push(spec: BuildSpec, on_line: Line, should_stop: StopReason) -> BuiltImage:
    """Build the image, tag it REPOSITORY:TAG, push it and read its digest and size.

    Every output line goes to `on_line`. Raises BuildStopped when `should_stop` gave a
    reason, BuildFailed with the failing step's output or the registry's message.
    """
    client = docker_client()
    watcher = StopWatcher(client, should_stop)
    watcher.start()
    try:
        image_id = _build(client, spec, on_line, watcher)
        digest = _push(client, spec, on_line, watcher)
        size = client.api.inspect_image(image_id)["Size"]
    except BuildStopped:
        watcher.kill_build_container()  # now, not on dockerd's own time
        raise
    except (APIError, DockerException, OSError) as error:
        watcher.raise_if_stopped()
        raise BuildFailed(f"The Docker engine failed: {error}") from None
    finally:
        watcher.stop()
        client.close()
    return BuiltImage(spec.repository, spec.tag, digest, size)


def _build(client, spec: BuildSpec, on_line: Line, watcher: "StopWatcher") -> str:
    context = (spec.checkout / (spec.context or ".")).resolve()
    if not context.is_dir() or spec.checkout.resolve() not in (context, *context.parents):
        raise BuildFailed(f"The build context {spec.context!r} is not a folder of the repository.")
    dockerfile = (spec.checkout / (spec.dockerfile or "Dockerfile")).resolve()
    if not dockerfile.is_file() or spec.checkout.resolve() not in dockerfile.parents:
        raise BuildFailed(f"There is no Dockerfile at {spec.dockerfile!r} in the repository.")
    stream = client.api.build(
        path=str(context),
        dockerfile=str(dockerfile),
        tag=f"{spec.repository}:{spec.tag}",
        buildargs={key: str(value) for key, value in spec.build_args.items()},
        network_mode="host",
        rm=True,
        forcerm=True,
        decode=True,
        timeout=settings.PORTAL_BUILD_TIMEOUT_SECONDS + 30,
    )
    return read_build_stream(stream, on_line, watcher)


def read_build_stream(stream: Iterable[dict], on_line: Line, watcher: "StopWatcher") -> str:
    """Read the engine's build chunks: each output line to `on_line`; the image id.

    Lines are cut (LineBuffer) before anything else sees them, so output of any length
    costs bounded memory. Raises BuildFailed with the failing step's output when the
    engine reports an error or no image, BuildStopped when the watcher gave a reason."""
    tail, pending = StepTail(), LineBuffer()

    def output(line: str) -> None:
        tail.add(line)
        on_line(line)
        if running := RUNNING_IN.match(line):
            watcher.container_id = running[1]

    image_id = ""
    for chunk in _until_stopped(stream, watcher):
        for line in pending.feed(chunk.get("stream", "")):
            output(line)
        if "error" in chunk or "aux" in chunk:
            for line in pending.flush():
                output(line)
        if "error" in chunk:
            watcher.raise_if_stopped()
            on_line(chunk["error"].rstrip())
            raise BuildFailed(tail.reason(chunk["error"].strip()))
        image_id = (chunk.get("aux") or {}).get("ID", image_id)
    for line in pending.flush():
        output(line)
    if not image_id:
        raise BuildFailed(tail.reason("the build ended without an image"))
    return image_id


def _push(client, spec: BuildSpec, on_line: Line, watcher: "StopWatcher") -> str:
    on_line(f"Pushing {spec.repository}:{spec.tag}")
    try:
        credentials = registry.credentials_for(registry.RepositoryName.parse(spec.repository).host)
    except registry.RegistryError as error:
        raise BuildFailed(str(error)) from None
    auth = None
    if credentials:  # handed to dockerd in a header, never printed
        auth = {"username": credentials.username, "password": credentials.password}
    stream = client.api.push(
        spec.repository, tag=spec.tag, stream=True, decode=True, auth_config=auth
    )
    digest = ""
    for chunk in _until_stopped(stream, watcher):
        if "error" in chunk:
            message = chunk["error"].strip()
            on_line(message)
            image = f"{spec.repository}:{spec.tag}"
            raise BuildFailed(f"The registry refused the push of {image}: {message}")
        if chunk.get("status") and not chunk.get("progressDetail"):
            on_line(" ".join(str(chunk[key]) for key in ("id", "status") if chunk.get(key)))
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    if not registry.DIGEST.match(digest or ""):
        raise BuildFailed(f"The push of {spec.repository}:{spec.tag} reported no digest.")
    on_line(f"Pushed {spec.repository}:{spec.tag}@{digest}")
    return digest


def _until_stopped(stream: Iterable[dict], watcher: "StopWatcher") -> Iterable[dict]:
    """The stream's chunks until it ends or the build is stopped (then BuildStopped).

    Each chunk is handed on before stopping, so a "Running in <id>" that arrived with the
    stop still names the container to kill."""
    try:
        for chunk in stream:
            yield chunk
            if watcher.reason:
                break
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # the connection closes with it: dockerd abandons the build
    watcher.raise_if_stopped()


class LineBuffer:
    """Whole lines out of the engine's chunks, which may end or start mid-line.

    Of a line longer than `keep` characters (twice PORTAL_LOG_LINE_MAX_CHARS) only the
    head is held, and the rest counted; the line comes out cut with that count
    (`cut_long_line`), so output without a newline for a gigabyte costs bounded memory.
    """

    def __init__(self, keep: int | None = None):
        self.keep = keep or 2 * settings.PORTAL_LOG_LINE_MAX_CHARS
        self.head = ""
        self.dropped = 0  # characters of the current line past `head`

    def feed(self, text: str) -> list[str]:
        *complete, rest = text.split("\n")
        lines = []
        for piece in complete:
            self._hold(piece)
            lines.append(self._take())
        self._hold(rest)
        return [line for line in lines if line.strip()]

    def flush(self) -> list[str]:
        rest = self._take()
        return [rest] if rest.strip() else []

    def _hold(self, piece: str) -> None:
        room = self.keep - len(self.head)
        self.head += piece[:room]
        self.dropped += max(0, len(piece) - room)

    def _take(self) -> str:
        line = cut_long_line(self.head, limit=self.keep, dropped=self.dropped)
        self.head, self.dropped = "", 0
        return line


class StepTail:
    """The current Dockerfile step and its last lines: a failed build's reason."""

    def __init__(self):
        self.step = ""
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if STEP.match(line):
            self.step, self.lines = line, []
        elif not line.startswith(" ---> "):
            self.lines = [*self.lines, line][-TAIL_LINES:]

    def reason(self, error: str) -> str:
        parts = [f"The build failed at {self.step}" if self.step else "The build failed"]
        parts += self.lines
        parts.append(error)
        return "\n".join(parts)


class StopWatcher(threading.Thread):
    """Asks `should_stop` every PORTAL_BUILD_POLL_SECONDS; on a reason, kills the build
    container of the running step, so a long `RUN` ends now rather than when it finishes."""

    def __init__(self, client, should_stop: StopReason):
        super().__init__(daemon=True, name="build-stop-watcher")
        self.client = client
        self.should_stop = should_stop
        self.reason: str | None = None
        self.container_id = ""
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            while not self.finished.wait(settings.PORTAL_BUILD_POLL_SECONDS):
                self.reason = self.reason or self._ask()
                if self.reason:
                    self.kill_build_container()
        finally:
            connection.close()  # should_stop may have opened this thread's own connection

    def _ask(self) -> str | None:
        try:
            return self.should_stop()
        except Exception:  # a database blip: ask again at the next poll
            log.warning("could not learn whether the build must stop", exc_info=True)
            return None

    def kill_build_container(self) -> None:
        if not self.container_id:
            return
        with contextlib.suppress(APIError, DockerException):  # the step ended meanwhile
            self.client.api.kill(self.container_id)

    def raise_if_stopped(self) -> None:
        if self.reason:
            raise BuildStopped(self.reason)

    def stop(self) -> None:
        """End the watch and wait for it, so that the client is not closed under a kill."""
        self.finished.set()
        if self.is_alive():
            self.join(timeout=10)
