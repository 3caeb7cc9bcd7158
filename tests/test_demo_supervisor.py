"""`make run`'s supervisor on small Procfiles: the portal's processes stop before what
they talk to, SIGKILL only after the grace period and named, a process that ends on its
own stops the rest, and a malformed Procfile line is refused with its number."""

import re
import sys

import pytest

from demo.supervisor import Supervisor, read_procfile

PY = sys.executable
# Prints that it is ready, then on SIGTERM takes a moment, says goodbye and exits.
POLITE = (
    f"{PY} -c \"import signal, sys, time; "
    "bye = lambda *a: (time.sleep(0.3), print('bye', flush=True), sys.exit(0)); "
    "signal.signal(signal.SIGTERM, bye); print('ready', flush=True); time.sleep(60)\""
)  # fmt: skip
STUBBORN = f"{PY} -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)\""  # noqa: E501


def procfile(tmp_path, text: str):
    path = tmp_path / "Procfile"
    path.write_text(text)
    return read_procfile(path)


def run_until_ready(supervisor: Supervisor, capsys, count: int) -> str:
    supervisor.start()
    printed = ""
    for _ in range(200):
        printed += capsys.readouterr().out
        if printed.count("| ready") >= count:
            return printed
        supervisor.stop_requested.wait(0.05)
    raise AssertionError(f"not ready:\n{printed}")


def stopped_order(printed: str) -> list[str]:
    return re.findall(r"system\s+\| (\S+)\.1 stopped", printed)


def test_the_portal_s_processes_stop_before_what_they_talk_to(tmp_path, capsys):
    children = procfile(tmp_path, f"kubesim: {POLITE}\nweb: {POLITE}\nworker-x: {POLITE}\n")
    supervisor = Supervisor(children, grace=10)
    run_until_ready(supervisor, capsys, 3)
    supervisor.on_signal(2, None)  # Ctrl-C
    assert supervisor.wait_for_stop() == 0
    supervisor.stop_all()
    printed = capsys.readouterr().out
    assert stopped_order(printed) == ["web", "worker-x", "kubesim"], printed
    assert printed.index("SIGTERM to kubesim.1") > printed.index("worker-x.1 stopped")
    assert printed.count("| bye") == 3 and "SIGKILL" not in printed


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_and_the_output_says_so(
    tmp_path, capsys
):
    supervisor = Supervisor(procfile(tmp_path, f"web: {STUBBORN}\n"), grace=1)
    run_until_ready(supervisor, capsys, 1)
    supervisor.on_signal(2, None)
    supervisor.wait_for_stop()
    supervisor.stop_all()
    printed = capsys.readouterr().out
    assert "sending SIGKILL to web.1 (still running 1 s after SIGTERM)" in printed
    assert "web.1 stopped (SIGKILL)" in printed
    assert not supervisor.children[0].running


def test_a_process_that_ends_on_the_supervisor_s_sigterm_reads_stopped_sigterm(tmp_path, capsys):
    plain = f"{PY} -c \"import time; print('ready', flush=True); time.sleep(60)\""
    supervisor = Supervisor(procfile(tmp_path, f"web: {plain}\n"), grace=10)
    run_until_ready(supervisor, capsys, 1)
    supervisor.on_signal(2, None)
    supervisor.wait_for_stop()
    supervisor.stop_all()
    printed = capsys.readouterr().out
    assert "web.1 stopped (SIGTERM)" in printed
    assert "rc=-15" not in printed


def test_a_process_that_ends_on_its_own_stops_the_others(tmp_path, capsys):
    children = procfile(tmp_path, f"web: {PY} -c 'print(\"ready\")'\nkubesim: {POLITE}\n")
    supervisor = Supervisor(children, grace=10)
    supervisor.start()
    assert supervisor.wait_for_stop() == 1
    supervisor.stop_all()
    printed = capsys.readouterr().out
    assert "web.1 exited (rc=0): stopping the others" in printed
    assert "kubesim.1 stopped (rc=0)" in printed


def test_a_procfile_line_without_a_command_is_refused_with_its_line_number(tmp_path):
    with pytest.raises(SystemExit, match=r"Procfile:3: expected `name: command`, got 'beat'"):
        procfile(tmp_path, "# the demo\nweb: true\nbeat\n")
