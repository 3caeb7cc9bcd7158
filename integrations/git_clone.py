"""The build's checkout: shallow-clone a service's repository at a branch, tag or commit.

git runs with a HOME of the build's own folder and reads no global or system config;
credentials (PORTAL_GIT_CREDENTIALS_FILE) go to git's own credential helper, never on
its command line or in its output. Building and pushing the checkout is
integrations.docker_builds.
"""

import re
import subprocess
from pathlib import Path

from django.conf import settings

from integrations.docker_builds import BuildFailed, Line

FULL_SHA = re.compile(r"^[0-9a-f]{40}\Z")
SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}\Z")


def clone(repository: str, ref: str, destination: Path, on_line: Line) -> str:
    """Shallow-clone `repository` (a local path or URL) at a branch, tag or commit.

    git runs with a HOME of the build's own folder (`destination`'s parent) and reads no
    global or system config (`git_environment`). Returns the commit sha checked out.
    Raises BuildFailed with git's own words.
    """
    source = _git_source(repository)
    env = git_environment(destination.parent / "git-home")
    on_line(f"Cloning {_without_credentials(source)} at {ref}")
    by_name = ["clone", "--quiet", "--depth", "1", "--branch", ref, "--", source, str(destination)]
    try:
        _git(by_name, env)
    except BuildFailed as failure:
        if not (FULL_SHA.match(ref) or SHORT_SHA.match(ref)):
            where = _without_credentials(source)
            raise BuildFailed(f"Cloning {where} at {ref} failed: {failure}") from None
        _clone_commit(source, ref, destination, env)
    sha = _git(["rev-parse", "HEAD"], env, cwd=destination).strip()
    on_line(f"Checked out {sha}")
    return sha


def git_environment(home: Path) -> dict[str, str]:
    """The whole environment git runs with: HOME is `home` (created, the build's own), and
    no global or system config is read. A shared HOME (it was /tmp) let anyone who could
    write a .gitconfig there redirect clones (`url.<x>.insteadOf`) or add a credential
    helper that receives the git credentials."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }


def _clone_commit(source: str, sha: str, destination: Path, env: dict) -> None:
    """A commit, not a branch or tag: fetch just it (a full sha) or the history (short)."""
    if destination.exists():
        subprocess.run(["rm", "-rf", "--", str(destination)], check=True)
    _git(["init", "--quiet", str(destination)], env)
    _git(["remote", "add", "origin", source], env, cwd=destination)
    try:
        if FULL_SHA.match(sha):
            _git(["fetch", "--quiet", "--depth", "1", "origin", sha], env, cwd=destination)
            _git(["checkout", "--quiet", "FETCH_HEAD"], env, cwd=destination)
        else:  # a short sha cannot be fetched by name; find it in the history
            _git(["fetch", "--quiet", "origin"], env, cwd=destination)
            _git(["checkout", "--quiet", sha], env, cwd=destination)
    except BuildFailed as error:
        raise BuildFailed(
            f"{sha} is neither a branch, a tag nor a commit of "
            f"{_without_credentials(source)}: {error}"
        ) from None


def _git(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    command = ["git", "-c", "advice.detachedHead=false"]
    if settings.PORTAL_GIT_CREDENTIALS_FILE:
        # git reads the credentials itself: they are never in the command line or output.
        helper = f"store --file={settings.PORTAL_GIT_CREDENTIALS_FILE}"
        command += ["-c", f"credential.helper={helper}"]
    try:
        done = subprocess.run(
            command + args, cwd=cwd, env=env, capture_output=True, text=True,
            timeout=settings.PORTAL_BUILD_TIMEOUT_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BuildFailed(
            f"git {args[0]} took longer than the build timeout "
            f"({settings.PORTAL_BUILD_TIMEOUT_SECONDS}s) and was stopped."
        ) from None
    if done.returncode != 0:
        words = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BuildFailed(" ".join(words) or f"git {args[0]} exited with {done.returncode}")
    return done.stdout


def _git_source(repository: str) -> str:
    """A local path becomes a file:// URL, so that --depth is honoured for it too."""
    if "://" in repository or re.match(r"^[\w.-]+@[\w.-]+:", repository):
        return repository
    path = Path(repository).expanduser()
    if not path.is_absolute():
        path = settings.BASE_DIR / path
    return path.resolve().as_uri()


def _without_credentials(url: str) -> str:
    return re.sub(r"://[^/@\s]*@", "://", url)
