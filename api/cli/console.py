"""What the command line owes a shell: exit codes, and output into a closed pipe (`... | head`) ending quietly."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

# Exit codes every command shares (a scheduler can act on them); `rebalance --help` explains them.
EXIT_OK, EXIT_CLOSED_PIPE, EXIT_USAGE, EXIT_UNMET, EXIT_FAILED = 0, 1, 2, 3, 4
P = ParamSpec("P")


def quiet_on_closed_pipe(main: Callable[P, int]) -> Callable[P, int]:
    """The Python documentation's recipe (signal.SIGPIPE notes): flush inside the guard; on a closed pipe, point
    stdout at devnull so that the interpreter's own flush at exit does not fail again, and exit 1."""

    @functools.wraps(main)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_CLOSED_PIPE

    return guarded
