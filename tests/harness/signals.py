"""Start a command that answers Ctrl-C even when the tests run with SIGINT ignored.

A shell without job control starts background jobs with SIGINT ignored (POSIX), and a
child inherits that: `.ci/run &` or `nohup make test &` would make every "Ctrl-C"
test meaningless. Exec resets a *handled* signal to its default, never an ignored one,
so the command is exec'd from a Python that handles SIGINT first.
"""

import sys

_EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def answering_ctrl_c(command: list[str]) -> list[str]:
    """`command`, run so that SIGINT reaches it with its default meaning."""
    return [sys.executable, "-c", _EXEC_WITH_DEFAULT_SIGINT, *command]
