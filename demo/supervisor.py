"""`make run`'s supervisor: starts the Procfile's processes, prints their output with
their names, and on Ctrl-C stops them in order, each with SIGTERM and time to finish.

Why not honcho (which `make run` used): it sends SIGKILL 5 s after SIGTERM, a fixed
wait, which cuts a Celery worker's warm shutdown (it finishes the look in hand) and a
uvicorn still closing its connections; and it stops everything at once, so kubesim went
away under a worker's last look. Here the portal's own processes (web, the workers,
beat) stop first, then what they talk to (kubesim, monitoring, builds, receivers…);
SIGKILL only for one still running `GRACE_SECONDS` after its SIGTERM, and it says so.

Each process runs in its own process group: a terminal's Ctrl-C reaches only this
supervisor, which decides the order. A second Ctrl-C stops everything at once.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GRACE_SECONDS = 30
FIRST_TO_STOP = ("web", "worker", "beat")  # the portal's own; the rest serve them
NAME_WIDTH = 20


@dataclass
class Child:
    name: str
    command: str
    process: subprocess.Popen | None = None

    @property
    def label(self) -> str:
        return f"{self.name}.1"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def read_procfile(path: Path) -> list[Child]:
    """`name: command` lines; blank lines and `#` comments are skipped."""
    children = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, command = line.partition(":")
        if not colon or not name.strip() or not command.strip():
            raise SystemExit(f"{path}:{number}: expected `name: command`, got {line!r}")
        children.append(Child(name.strip(), command.strip()))
    return children


class Supervisor:
    def __init__(self, children: list[Child], grace: float = GRACE_SECONDS):
        self.children = children
        self.grace = grace
        self.stop_requested = threading.Event()
        self.hurry = False  # a second Ctrl-C: no more waiting
        self._print_lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    def say(self, label: str, text: str) -> None:
        with self._print_lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {label:<{NAME_WIDTH}} | {text}\n")
            sys.stdout.flush()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for child in self.children:
            # exec: the signals go to the program itself, not to a shell around it.
            child.process = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {child.command}"], env=env, process_group=0,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            self.say("system", f"{child.label} started (pid={child.process.pid})")
            reader = threading.Thread(target=self._relay, args=(child,), daemon=True)
            reader.start()
            self._readers.append(reader)

    def _relay(self, child: Child) -> None:
        with child.process.stdout as output:
            for raw in output:
                self.say(child.label, raw.decode(errors="replace").rstrip("\n"))

    def on_signal(self, signum: int, frame) -> None:
        if self.stop_requested.is_set():
            self.hurry = True
        self.stop_requested.set()

    def wait_for_stop(self) -> int:
        """Until a signal or a process ending on its own; the exit code to return."""
        while not self.stop_requested.wait(0.2):
            ended = next((c for c in self.children if not c.running), None)
            if ended is not None:
                code = ended.process.returncode
                how = ended_how(code)
                self.say("system", f"{ended.label} exited ({how}): stopping the others")
                return 1
        self.say("system", "Ctrl-C: stopping the portal, then what it talks to")
        return 0

    def stop_all(self) -> None:
        first = [c for c in self.children if c.name.startswith(FIRST_TO_STOP)]
        rest = [c for c in self.children if c not in first]
        for wave in (first, rest):
            self._stop_wave(wave)
        for reader in self._readers:
            reader.join(timeout=5)

    def _stop_wave(self, wave: list[Child]) -> None:
        for child in wave:
            if child.running:
                self.say("system", f"sending SIGTERM to {child.label} (pid {child.process.pid})")
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in wave:
            while child.running and time.monotonic() < deadline and not self.hurry:
                time.sleep(0.1)
            if child.running:
                self._kill(child)
            child.process.wait()
            self.say("system", f"{child.label} stopped ({ended_how(child.process.returncode)})")

    def _kill(self, child: Child) -> None:
        why = "a second Ctrl-C" if self.hurry else f"still running {self.grace:g} s after SIGTERM"
        self.say("system", f"sending SIGKILL to {child.label} ({why})")
        os.killpg(child.process.pid, signal.SIGKILL)


def ended_how(returncode: int) -> str:
    """ "rc=0" for an exit, the signal's name ("SIGTERM") for a child that ended on one."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"rc={returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("procfile", type=Path, nargs="?", default=Path("Procfile"))
    args = parser.parse_args(argv)
    supervisor = Supervisor(read_procfile(args.procfile))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.on_signal)
    supervisor.start()
    code = supervisor.wait_for_stop()
    supervisor.stop_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
