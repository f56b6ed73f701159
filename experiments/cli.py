"""What the command-line tools share: usage errors on one line, exit code 2."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

__all__ = [
    "INTERRUPTED_EXIT",
    "NOT_STARTED_LINE",
    "RESUME_COMMAND_ENV",
    "USAGE_ERROR",
    "OneLineParser",
    "exit_not_started",
    "option_message",
]

#: Exit code of a usage error (argparse's own; the tools' "could not run").
USAGE_ERROR = 2

#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT = 130

#: Ctrl-C's line before any run started (on standard error).
NOT_STARTED_LINE = "interrupted before any run started"

#: Environment variable: the command that finishes an interrupted sweep, when the sweep
#: was started by another tool (the demo); ``experiments.run``'s Ctrl-C line names it
#: instead of the sweep's own command with ``resume=true``.
RESUME_COMMAND_ENV = "LIMITLAB_RESUME_COMMAND"


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit :data:`USAGE_ERROR`.

    ``error: <what is wrong> (see <prog> --help)`` on standard error, without argparse's
    usage block.
    """

    def error(self, message: str) -> NoReturn:
        """Print the one-line usage error and exit with :data:`USAGE_ERROR`."""
        self.exit(USAGE_ERROR, f"error: {message} (see {self.prog} --help)\n")


def option_message(message: str, options: dict[str, str]) -> str:
    """A config error's message naming the command-line option that set the field.

    Args:
        message: an error message starting with a config field (``section.field ...``).
        options: config field -> the option that sets it (``{"x.n": "--n"}``).

    Returns:
        ``"<option> (<field>)<rest of the message>"`` for the first field the message
        starts with; the message unchanged if it starts with none.
    """
    for field, option in options.items():
        if message.startswith(field):
            return f"{option} ({field}){message[len(field) :]}"
    return message


def exit_not_started(
    signum: int | None = None, frame: object = None, *, line: str = NOT_STARTED_LINE
) -> NoReturn:
    """Print ``line`` (:data:`NOT_STARTED_LINE`) and exit with :data:`INTERRUPTED_EXIT`.

    Also a SIGINT handler, set while a command imports its libraries: Ctrl-C there gives
    the same line as later instead of an import's traceback (another command's line:
    ``functools.partial(exit_not_started, line=...)``). As a handler it ends the process
    at once (``os._exit``): nothing is written yet, and an exception raised in the middle
    of an import could be swallowed by a library's bare ``except``.
    """
    print(line, file=sys.stderr, flush=True)
    if signum is not None:
        os._exit(INTERRUPTED_EXIT)
    raise SystemExit(INTERRUPTED_EXIT)
