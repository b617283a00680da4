"""Standard output that reports a full or closed stream as an environment problem.

``advisor plan > /dev/full`` (ENOSPC) or ``advisor plan | head`` after ``head`` has gone (EPIPE)
is not a bug in the advisor: the report had nowhere to go. The executable puts this stream under
``sys.stdout``: the first failed write raises :class:`StdoutProblem` (an
:class:`~advisor.errors.EnvironmentProblem`, so exit 3 with one line on stderr) and every later
write is dropped, which is the Python documentation's advice for ``BrokenPipeError`` (send what is
left to a null device) without a second error when the interpreter flushes at exit.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import Any, TextIO

from advisor.errors import EnvironmentProblem


class StdoutProblem(EnvironmentProblem):
    """stdout cannot be written (full device, closed pipe, I/O error): the environment, exit 3."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EPIPE:
        return "the reading end of the pipe was closed (Broken pipe)"
    return exc.strerror or type(exc).__name__


class _GuardedStdout(io.RawIOBase):
    """File descriptor 1, whose first write error becomes a :class:`StdoutProblem`."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.broken = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        if self.broken:
            return size  # already reported: what is left goes nowhere
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            self.broken = True
            raise StdoutProblem(f"cannot write to stdout: {_reason(exc)}") from None


def guard_stdout() -> None:
    """Replace ``sys.stdout`` by the same descriptor behind :class:`_GuardedStdout`, same encoding.

    Only for the ``advisor`` executable (a caller of :func:`advisor.cli.main` keeps its streams);
    a stdout without a descriptor (captured by a test harness) is left alone.
    """
    current = sys.stdout
    try:
        fd = current.fileno()
    except (AttributeError, OSError, ValueError):
        return
    with contextlib.suppress(OSError, ValueError):
        current.flush()
    raw: Any = _GuardedStdout(fd)
    wrapped: TextIO = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=current.encoding,
        errors=current.errors,
        line_buffering=bool(current.line_buffering),
    )
    sys.stdout = wrapped
