"""SIGTERM and SIGHUP stop a command the way Ctrl-C does: as an exception, so cleanup runs.

Left to their default action, a service manager's SIGTERM or a closed terminal's SIGHUP end the
process on the spot: no ``finally`` block runs, so a smoke test's llama.cpp worker would keep
running and temp files would stay. The executable turns them into :class:`Stopped`, a
``KeyboardInterrupt`` (everything that already cleans up after Ctrl-C, such as ``ask`` keeping
its answers, does the same for them), and exits with ``128 + signal`` like a shell.
"""

from __future__ import annotations

import signal
from types import FrameType

#: The signals that stop a command with cleanup (SIGINT already raises ``KeyboardInterrupt``).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """The process was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Install the handlers (main thread only; a signal the parent set to be ignored stays ignored)."""
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue  # nohup: the user asked for SIGHUP to be ignored
        signal.signal(signum, _raise_stopped)


def exit_status(interrupt: KeyboardInterrupt) -> tuple[int, str]:
    """The exit status (``128 + signal``) and the one line for an interrupt or a stop signal."""
    signum = interrupt.signum if isinstance(interrupt, Stopped) else signal.SIGINT
    if signum == signal.SIGINT:
        return 128 + signum, "advisor: interrupted"
    return 128 + signum, f"advisor: stopped by {signal.Signals(signum).name}"
