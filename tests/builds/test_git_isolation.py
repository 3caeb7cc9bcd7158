"""Builds run git with a HOME of the build's own folder and no global or system config:
a gitconfig planted where a shared HOME would be cannot redirect a clone (`insteadOf`)
or be handed the git credentials (a `credential.helper` of its own)."""

import contextlib
import os
from pathlib import Path

import pytest

from integrations import git_clone

OLD_SHARED_HOME = Path("/tmp")  # what builds ran git with before


@pytest.fixture
def impostor(tmp_path):
    """Another repository: where a planted `insteadOf` would send the clone."""
    from tests.builds.conftest import ServiceRepository

    impostor = ServiceRepository(tmp_path / "impostor")
    impostor.commit("planted")
    return impostor


def redirect_rule(repository, impostor) -> str:
    good = repository.path.resolve().as_uri()
    return f'[url "{impostor.path.resolve().as_uri()}"]\n\tinsteadOf = {good}\n'


@contextlib.contextmanager
def planted_in_old_shared_home(text: str):
    """/tmp/.gitconfig, created only if absent and removed after (its rule names only
    this test's own folders, so nothing else that reads it meanwhile is redirected)."""
    path = OLD_SHARED_HOME / ".gitconfig"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pytest.skip(f"{path} exists already; it is not this test's to replace")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        yield
    finally:
        path.unlink(missing_ok=True)


def clone_into(tmp_path, repository) -> tuple[str, str]:
    destination = tmp_path / "build" / "src"
    destination.parent.mkdir()
    sha = git_clone.clone(str(repository.path), "main", destination, lambda line: None)
    return sha, (destination / "www" / "health").read_text()


def test_git_gets_the_builds_own_home_and_no_global_or_system_config(tmp_path):
    home = tmp_path / "home"
    env = git_clone.git_environment(home)
    assert env["HOME"] == str(home) and home.is_dir()
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "XDG_CONFIG_HOME" not in env, "git would read $XDG_CONFIG_HOME/git/config"


def test_a_gitconfig_planted_in_the_old_shared_home_cannot_redirect_a_clone(
    tmp_path, repository, impostor
):
    sha = repository.commit("genuine")
    with planted_in_old_shared_home(redirect_rule(repository, impostor)):
        cloned, health = clone_into(tmp_path, repository)
    assert cloned == sha and health.startswith("genuine ")


@pytest.mark.parametrize("where", ["HOME/.gitconfig", "XDG_CONFIG_HOME/git/config"])
def test_a_gitconfig_in_the_workers_own_home_cannot_redirect_a_clone(
    tmp_path, repository, impostor, monkeypatch, where
):
    sha = repository.commit("genuine")
    variable, relative = where.split("/", 1)
    planted = tmp_path / "worker-home" / relative
    planted.parent.mkdir(parents=True)
    planted.write_text(redirect_rule(repository, impostor))
    monkeypatch.setenv(variable, str(tmp_path / "worker-home"))
    cloned, health = clone_into(tmp_path, repository)
    assert cloned == sha and health.startswith("genuine ")
