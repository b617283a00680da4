"""The ``advisor`` command line: one module per command, shared options in :mod:`advisor.cli.options`.

Map: ``plan``, ``check``, ``cost``, ``fit``, ``ask``, ``smoke``, ``bench``, ``hub``, ``licenses``, ``quality``,
``catalog``, ``plugins`` (with ``checks``) each live in ``advisor/cli/<module>.py``; a command's
docstring is its help. Start-up stays light: a command module is imported only when that command
runs (or its own help is asked for), so ``advisor --help`` costs little more than importing click;
the command list shows each docstring's first line, read from the module's source.

The process itself is this module's too (:func:`run`, the executable): a full or closed stdout is
an environment problem (:class:`StdoutProblem`, exit 3), and SIGTERM and SIGHUP stop a command
the way Ctrl-C does, with its cleanup (:class:`Stopped`, exit ``128 + signal``).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import os
import re
import signal
import sys
from functools import cache
from types import FrameType
from typing import Any, NoReturn, TextIO

import click

from advisor.cli.options import errors_as_lines
from advisor.errors import EnvironmentProblem

#: Every command: name -> (module, attribute). The help is the command's own docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("advisor.cli.ask", "ask"),
    "bench": ("advisor.cli.bench", "bench"),
    "catalog": ("advisor.cli.catalog", "catalog_command"),
    "check": ("advisor.cli.check", "check"),
    "checks": ("advisor.cli.plugins", "checks_command"),
    "cost": ("advisor.cli.cost", "cost"),
    "fit": ("advisor.cli.fit", "fit"),
    "hub": ("advisor.cli.hub", "hub"),
    "licenses": ("advisor.cli.licenses", "licenses"),
    "plan": ("advisor.cli.plan", "plan"),
    "plugins": ("advisor.cli.plugins", "plugins_command"),
    "quality": ("advisor.cli.quality", "quality"),
    "smoke": ("advisor.cli.smoke", "smoke"),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported only when run (or asked for help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        import importlib

        module_name, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with the first line of its docstring, without importing it."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=docstring(name)).get_short_help_str(limit))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@cache
def docstring(name: str) -> str:
    """A command's docstring read from its module's source (importing it would cost start-up time).

    A test checks that this is the imported command's own help, for every command.
    """
    import ast
    import importlib.util
    import inspect

    module_name, attribute = COMMANDS[name]
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return ""
    with open(spec.origin, encoding="utf-8") as handle:
        source = handle.read()
    found = re.search(rf'^def {attribute}\(.*?\)(?: -> [^:]+)?:\n\s+(""".*?""")', source, re.S | re.M)
    return inspect.cleandoc(ast.literal_eval(found.group(1))) if found else ""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="model-advisor", prog_name="advisor")
def cli() -> None:
    """Which LLM to use and how to run it: an API, open weights, or building your own."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line and an exit code; internal errors too
    unless ``ADVISOR_DEBUG=1`` asks for the traceback. The command's Hub calls share one deadline
    (:func:`advisor.hub.transport.command_deadline`)."""
    from advisor.hub.transport import command_deadline

    try:
        with errors_as_lines(), command_deadline():
            cli.main(args=argv, prog_name="advisor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__  # click turns a KeyboardInterrupt into Abort
        if isinstance(cause, KeyboardInterrupt):
            _interrupted(cause)
        click.echo("advisor: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        click.echo(
            f"advisor: internal error: {type(exc).__name__}: {exc} (set ADVISOR_DEBUG=1 for the traceback)", err=True
        )
        sys.exit(70)


# --- stop signals --------------------------------------------------------------------------------
# Left to their default action, a service manager's SIGTERM or a closed terminal's SIGHUP end the
# process on the spot: no ``finally`` runs, so a smoke test's llama.cpp worker would keep running
# and temp files would stay. The executable turns them into :class:`Stopped`, a KeyboardInterrupt:
# everything that cleans up after Ctrl-C (``ask`` keeping its answers) does the same for them.

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
    """Install the handlers (main thread only); a signal the parent set to be ignored stays ignored (nohup)."""
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise_stopped)


def _interrupted(interrupt: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C, SIGTERM or SIGHUP: one line and the shell's ``128 + signal``."""
    signum = interrupt.signum if isinstance(interrupt, Stopped) else signal.SIGINT
    line = "advisor: interrupted" if signum == signal.SIGINT else f"advisor: stopped by {signal.Signals(signum).name}"
    click.echo(line, err=True)
    sys.exit(128 + signum)


# --- stdout ----------------------------------------------------------------------------------------
# ``advisor plan > /dev/full`` (ENOSPC) or ``advisor plan | head`` after ``head`` has gone (EPIPE) is
# not a bug: the report had nowhere to go. The first failed write raises StdoutProblem (exit 3, one
# line) and later writes are dropped: the Python documentation's advice for BrokenPipeError (send
# what is left to a null device), without a second error when the process flushes at exit.


class StdoutProblem(EnvironmentProblem):
    """stdout cannot be written (a full device, a closed pipe, an I/O error): exit 3."""


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

    def write(self, data: Any) -> int:
        size = len(data)
        if self.broken:
            return size  # already reported: what is left goes nowhere
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            self.broken = True
            why = "the reading end of the pipe was closed (Broken pipe)" if exc.errno == errno.EPIPE else exc.strerror
            raise StdoutProblem(f"cannot write to stdout: {why or type(exc).__name__}") from None


def guard_stdout() -> None:
    """``sys.stdout`` on the same descriptor behind :class:`_GuardedStdout`, with the same encoding
    (a stdout without a descriptor, captured by a test harness, is left alone)."""
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


# --- the executable --------------------------------------------------------------------------------


def run() -> None:
    """The ``advisor`` executable: :func:`main` with the cyclic garbage collector off for the process.

    A command is a short process that builds hundreds of thousands of small objects (catalog
    records, candidates, findings) and keeps them to the end: the collector's passes, and its last
    pass at exit, find almost nothing to free and cost about a sixth of ``advisor plan``'s time
    (measured with ``benchmarks/plan_speed.py``; peak memory grows by about 2 %). Reference counting
    still frees everything outside a cycle. Callers of :func:`main` in a long-lived process keep
    their collector, and their streams and signal handlers: only the executable guards stdout
    (:func:`guard_stdout`) and stops on SIGTERM/SIGHUP with cleanup (:func:`stop_on_signals`).

    For the same reason the process ends without tearing its objects down one by one (another
    tenth of ``advisor plan``): once the command has finished, what a normal exit would still do
    is done here (wait for non-daemon threads, run ``atexit`` handlers, flush the standard
    streams) and the process exits with the command's status. Every file the commands write is
    closed before they return.
    """
    gc.disable()
    guard_stdout()
    stop_on_signals()
    try:
        main()
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: object) -> NoReturn:
    """``sys.exit(code)``'s status and message, without the interpreter's teardown."""
    import atexit
    import threading

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except StdoutProblem as exc:  # output left in the buffer had nowhere to go: exit 3, as in the command
        with contextlib.suppress(OSError, ValueError):
            print(f"advisor: error: {exc}", file=sys.stderr)
        code = code if code else exc.exit_code
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code or 0)
