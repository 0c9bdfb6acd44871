"""What the command line owes a shell: output into a closed pipe (`stockpool ... --json | head`) ends quietly."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence

EXIT_CLOSED_PIPE = 1

Main = Callable[[Sequence[str] | None], int]


def quiet_on_closed_pipe(main: Main) -> Main:
    """The Python documentation's recipe (signal.SIGPIPE notes): flush inside the guard; on a closed pipe, point
    stdout at devnull so that the interpreter's own flush at exit does not fail again, and exit 1."""

    @functools.wraps(main)
    def guarded(argv: Sequence[str] | None = None) -> int:
        try:
            code = main(argv)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_CLOSED_PIPE

    return guarded
