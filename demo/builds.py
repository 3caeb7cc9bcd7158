"""`make run`'s builds: a Docker engine and a registry of the demo's own, and a local git
repository per demo service, so "Build release" works end to end on one machine.

    python -m demo.builds              # run (Procfile: builds)
    python -m demo.builds --status     # the one line bin/demo prints
    python -m demo.builds --env        # DOCKER_HOST=… for bin/demo (or nothing)

Needs Debian's `docker.io` (dockerd), `docker-registry` and `busybox-static`, and root
(dockerd). dockerd runs with no bridge and no iptables rules (`--bridge=none
--iptables=false --ip6tables=false`), on its own socket, data and exec roots under
var/docker, so it never touches the machine's own engine or network; the registry
listens on 127.0.0.1:7500 with its storage in var/registry. No image can be pulled, so
each demo repository's Dockerfile builds FROM scratch with the static busybox serving
/health (`busybox httpd`). Without these, the process only says so and waits (the supervisor
stops everything when one process ends) and the "Build release" form explains what is
missing. Plain Python, no Django: it runs beside the portal, not in it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from demo.monitoring import stop_process

REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "examples" / "vizora.yaml"
DOCKER_DIR = REPO / "var" / "docker"
REGISTRY_DIR = REPO / "var" / "registry"
REGISTRY_LOG_NAME = "registry.log"
GIT_DIR = REPO / "var" / "demo-git"
REGISTRY_ADDRESS = "127.0.0.1:7500"  # a fixed demo port beside 7001-7003, 7101-7103, 7090
BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")
SERVICE_PORT = 3000  # what the catalog's services listen on
BROKEN_BRANCH = "broken-dockerfile"  # a ref whose build fails, to show a failed release


def docker_socket(docker_dir: Path = DOCKER_DIR) -> Path:
    return docker_dir / "docker.sock"


def docker_host(docker_dir: Path = DOCKER_DIR) -> str:
    return f"unix://{docker_socket(docker_dir)}"


def busybox_binary() -> str | None:
    """A statically linked busybox (a FROM-scratch image has no libc to link against)."""
    for path in BUSYBOX_PATHS:
        if Path(path).is_file():
            return path
    return None


def missing() -> str:
    """What keeps builds from running here, in words; "" when nothing does."""
    needs = {"dockerd": shutil.which("dockerd"), "docker-registry": shutil.which("docker-registry")}
    absent = [name for name, found in needs.items() if not found]
    if busybox_binary() is None:
        absent.append("busybox")
    if absent:
        return (
            f"{', '.join(absent)} not found (apt-get install docker.io docker-registry "
            "busybox-static)"
        )
    if os.geteuid() != 0:
        return "dockerd needs root; run make run as root to build in the demo"
    return ""


def status_line() -> str:
    reason = missing()
    if reason:
        return f"Builds: off, {reason}; the Build release form says so."
    return (
        f"Builds: a Docker engine on {docker_host()} and a registry on {REGISTRY_ADDRESS}; "
        f"the demo services build from git repositories in {GIT_DIR.relative_to(REPO)}/ "
        f"(ref main, or {BROKEN_BRANCH} to see a build fail); the registry's log: "
        f"{(REGISTRY_DIR / REGISTRY_LOG_NAME).relative_to(REPO)}."
    )


# --- the demo's git repositories -------------------------------------------------------------


def demo_services(catalog: Path = CATALOG) -> dict[str, str]:
    """Each catalog service's name and its Dockerfile path (relative to its repository)."""
    services = yaml.safe_load(catalog.read_text())["services"]
    return {s["name"]: (s.get("build") or {}).get("dockerfile", "Dockerfile") for s in services}


def dockerfile(name: str, broken: bool = False) -> str:
    lines = [
        "# A demo image: no base image can be pulled here, so a static busybox serves",
        "# /health and a page over HTTP.",
        "FROM scratch",
        "COPY bin/busybox /bin/busybox",
        "COPY www /www",
    ]
    if broken:
        lines += ["# This step fails: the file does not exist.", "COPY missing-file /www/missing"]
    lines += [
        f"EXPOSE {SERVICE_PORT}",
        f'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "{SERVICE_PORT}", "-h", "/www"]',
    ]
    return "\n".join(lines) + "\n"


def git(folder: Path, *args: str) -> None:
    environment = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Vizora demo", "GIT_AUTHOR_EMAIL": "demo@vizora.example",
        "GIT_COMMITTER_NAME": "Vizora demo", "GIT_COMMITTER_EMAIL": "demo@vizora.example",
    }  # fmt: skip
    subprocess.run(
        ["git", "-C", str(folder), *args], check=True, env=environment, capture_output=True
    )


def create_repository(folder: Path, name: str, dockerfile_path: str, busybox: str) -> bool:
    """A git repository for one demo service (main builds, BROKEN_BRANCH fails);
    False when it exists already (start-up stays fast)."""
    if (folder / ".git").exists():
        return False
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    (folder / "www").mkdir(exist_ok=True)
    shutil.copy2(busybox, folder / "bin" / "busybox")
    (folder / "www" / "health").write_text("ok\n")
    (folder / "www" / "index.html").write_text(f"<h1>Vizora {name} (demo build)</h1>\n")
    target = folder / dockerfile_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dockerfile(name))
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", f"{name}: a FROM-scratch busybox image serving /health")
    git(folder, "checkout", "-q", "-b", BROKEN_BRANCH)
    target.write_text(dockerfile(name, broken=True))
    git(folder, "commit", "-q", "-am", f"{name}: a Dockerfile step that fails")
    git(folder, "checkout", "-q", "main")
    return True


def create_repositories(root: Path = GIT_DIR, catalog: Path = CATALOG) -> list[Path]:
    """One repository per catalog service under `root`; returns those created now."""
    busybox = busybox_binary()
    created = []
    for name, dockerfile_path in demo_services(catalog).items():
        if busybox and create_repository(root / name, name, dockerfile_path, busybox):
            created.append(root / name)
    return created


# --- the engine and the registry -------------------------------------------------------------


def registry_config(storage: Path, address: str) -> dict:
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": address},
    }


def start_registry(folder: Path = REGISTRY_DIR, address: str = REGISTRY_ADDRESS):
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    config.write_text(yaml.safe_dump(registry_config(folder / "storage", address)))
    command = [shutil.which("docker-registry"), "serve", str(config)]
    # The secret only signs upload state between this registry and itself: new each start.
    environment = {**os.environ, "REGISTRY_HTTP_SECRET": secrets.token_hex(16)}
    # Its own log goes to a file: every push first asks for blobs the registry lacks, and
    # it logs each of those normal 404s as `level=error ... "blob unknown"`.
    with (folder / REGISTRY_LOG_NAME).open("ab") as log:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=environment,
        )  # fmt: skip


def dockerd_command(folder: Path = DOCKER_DIR) -> list[str]:
    return [
        shutil.which("dockerd") or "dockerd",
        f"--host={docker_host(folder)}",
        f"--data-root={folder / 'data'}",
        f"--exec-root={folder / 'exec'}",
        f"--pidfile={folder / 'docker.pid'}",
        "--bridge=none", "--iptables=false", "--ip6tables=false",
        "--log-level=error",
    ]  # fmt: skip


def start_dockerd(folder: Path = DOCKER_DIR):
    folder.mkdir(parents=True, exist_ok=True)
    unmount_data_root(folder)  # left by an engine that was killed
    docker_socket(folder).unlink(missing_ok=True)  # left by an engine that was killed
    # Its own session: Ctrl-C may reach the whole process group, and the supervisor signals it
    # again. dockerd takes a third signal as "quit now", without unmounting its data
    # root (a private bind mount), so only this process tells it to stop, once.
    dockerd = subprocess.Popen(
        dockerd_command(folder), stdin=subprocess.DEVNULL, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    threading.Thread(target=relay_output, args=(dockerd,), daemon=True).start()
    return dockerd


# What the engine prints that no one running the demo can act on: Debian's containerd,
# started by dockerd with a configuration dockerd writes, calls that configuration's
# version deprecated (`--log-level=error` does not reach it).
NOT_ACTIONABLE = ("containerd config version `1` has been deprecated",)


def relay_output(process: subprocess.Popen) -> None:
    """Pass the engine's output on, but for the lines of NOT_ACTIONABLE."""
    with process.stdout as output:
        for raw in output:
            line = raw.decode(errors="replace")
            if not any(text in line for text in NOT_ACTIONABLE):
                sys.stdout.write(line)
                sys.stdout.flush()


def wait_for_socket(socket: Path, process, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if socket.exists():
            return True
        time.sleep(0.2)
    return False


# --- the process -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    reason = missing()
    stop = threading.Event()
    if reason:
        print(f"builds: off, {reason}", flush=True)
        stop.wait()  # the demo supervisor stops everything when one process ends
    for folder in create_repositories(args.git_dir):
        print(f"builds: created the demo repository {folder}", flush=True)
    registry = dockerd = None
    try:
        registry = start_registry(args.registry_dir, args.registry)
        dockerd = start_dockerd(args.docker_dir)
        if wait_for_socket(docker_socket(args.docker_dir), dockerd):
            print(f"builds: dockerd on {docker_host(args.docker_dir)}", flush=True)
        dockerd.wait()
        print(f"builds: dockerd exited with {dockerd.returncode}", flush=True)
        stop.wait()
    finally:
        # Honcho's SIGTERM may follow Ctrl-C: let nothing interrupt the engine's stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_process(dockerd)
        stop_process(registry)
        unmount_data_root(args.docker_dir)


def unmount_data_root(folder: Path = DOCKER_DIR) -> None:
    """dockerd bind-mounts its data root on itself; an engine that was killed (or stopped
    too slowly and then killed) leaves that mount behind, and nothing can delete the
    folder until it is gone."""
    data = folder / "data"
    if is_mounted(data):
        subprocess.run(["umount", str(data)], check=False, capture_output=True)


def is_mounted(path: Path) -> bool:
    """Whether `path` is a mount point, bind mounts included (os.path.ismount misses a
    folder bound on itself: same device, another inode than its parent's)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    target = str(path.resolve())
    return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)


def _stop_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo.builds")
    parser.add_argument("--status", action="store_true", help="print what will run and exit")
    parser.add_argument("--env", action="store_true", help="print DOCKER_HOST=… when builds run")
    parser.add_argument("--docker-dir", type=Path, default=DOCKER_DIR)
    parser.add_argument("--registry-dir", type=Path, default=REGISTRY_DIR)
    parser.add_argument("--git-dir", type=Path, default=GIT_DIR)
    parser.add_argument("--registry", default=REGISTRY_ADDRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.status:
        print(status_line())
        return
    if args.env:
        if not missing():
            print(f"DOCKER_HOST={docker_host(args.docker_dir)}")
        return
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run(args)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
