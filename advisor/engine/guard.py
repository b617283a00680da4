"""Running plugin code under guard: what a plugin does to the process is bounded or undone.

Plugins run in the advisor's own process (pluggy has no sandbox), so without a guard a plugin could
end the run (``sys.exit``, ``os._exit``, a ``BaseException``), write into the ``--format json``
document on stdout, hang the command or exhaust memory. Every call into plugin code (an import, a
hook, a check on one candidate, a catalog source's ``load``) goes through :meth:`Guard.call`, which
turns each of those into a :class:`PluginFault` the host records against the plugin:

- **stdout**: while plugin code runs, ``sys.stdout`` *and file descriptor 1* point at stderr, so
  ``print()``, ``os.write(1, ...)`` and child processes land on stderr, never in the report.
- **exits**: ``SystemExit`` is caught; ``os._exit`` and ``os.abort`` are replaced by functions that
  raise instead while plugin code runs (``os._exit`` cannot be caught once called).
- **Ctrl-C**: a ``KeyboardInterrupt`` is the user's only when SIGINT really arrived (a handler
  notes it); one the plugin raises itself is the plugin's fault.
- **time**: ``setitimer(ITIMER_REAL)`` raises a private exception in the plugin's frame when the
  limit passes, and again every second if the plugin swallows it (POSIX, main thread only).
- **memory**: ``RLIMIT_AS`` is lowered to the address space in use plus the limit while plugins
  run, so an allocation past it raises ``MemoryError`` in the plugin (Linux; an approximation: the
  budget is shared by the calls of one stage, see docs/plugins.md).
- **threads**: a thread plugin code starts and leaves running is made a daemon thread, so it cannot
  keep the command from exiting (the CLI waits for non-daemon threads).
- **exit handlers**: ``atexit`` handlers registered by plugin code run under the same guard.
- **secrets**: :func:`redact_secrets` removes tokens and secret environment values from every
  message the host builds from plugin text.

Limits of an in-process guard (stated in docs/plugins.md): a plugin can still kill its own process
(``os.kill``, ``ctypes``), reset the signal handlers or loop in C code that never returns to Python.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from advisor.errors import InputError, PluginError
from advisor.hub.settings import redact

T = TypeVar("T")

#: Defaults of the limits (docs/plugins.md "Limits"): generous next to a built-in check's milliseconds.
DEFAULT_CALL_SECONDS = 10.0
DEFAULT_LOAD_SECONDS = 20.0
DEFAULT_MEMORY_MB = 4096

#: How much of a plugin's exception message is quoted (its first line, cut here).
_MAX_MESSAGE = 500

#: How often the alarm fires again after the limit when a plugin swallows the first one.
_REPEAT_SECONDS = 1.0


@dataclass(frozen=True)
class PluginLimits:
    """The time and memory a plugin may use; ``None`` (or 0 in a setting) means no limit.

    ``call_s`` bounds one call (one check on one candidate, one hook, one catalog source), ``load_s``
    one plugin's import and registration, ``memory_mb`` the address space plugin code may add.
    ``call_setting`` / ``load_setting`` name where each came from, for the messages.
    """

    call_s: float | None = DEFAULT_CALL_SECONDS
    load_s: float | None = DEFAULT_LOAD_SECONDS
    memory_mb: int | None = DEFAULT_MEMORY_MB
    call_setting: str = "--plugin-timeout / ADVISOR_PLUGIN_TIMEOUT"
    load_setting: str = "ADVISOR_PLUGIN_LOAD_TIMEOUT"

    @classmethod
    def resolve(cls, *, call_s: float | None = None) -> PluginLimits:
        """The limits from ``--plugin-timeout`` (``call_s``, when given) and the environment."""
        call = call_s if call_s is not None else _env_number("ADVISOR_PLUGIN_TIMEOUT", DEFAULT_CALL_SECONDS)
        load = _env_number("ADVISOR_PLUGIN_LOAD_TIMEOUT", DEFAULT_LOAD_SECONDS)
        memory = _env_number("ADVISOR_PLUGIN_MEMORY_MB", DEFAULT_MEMORY_MB)
        return cls(
            call_s=call or None,
            load_s=load or None,
            memory_mb=int(memory) or None,
            call_setting="--plugin-timeout" if call_s is not None else "ADVISOR_PLUGIN_TIMEOUT",
        )


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r}: expected a number of {_UNITS[name]} (0 for no limit)") from None
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{name}={raw!r}: expected a finite number >= 0 (0 for no limit)")
    return value


_UNITS = {
    "ADVISOR_PLUGIN_TIMEOUT": "seconds",
    "ADVISOR_PLUGIN_LOAD_TIMEOUT": "seconds",
    "ADVISOR_PLUGIN_MEMORY_MB": "MiB",
}


# --- secrets ------------------------------------------------------------------------------------

_SECRET_PATTERNS = (
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-***"),  # OpenAI, Anthropic (sk-ant-...)
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{16,}"), "gh*_***"),  # GitHub
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), "xox*-***"),  # Slack
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "AKIA***"),  # AWS access key id
    (re.compile(r"\b([Bb]earer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),  # an Authorization header
    (re.compile(r"\b(Basic)\s+(?=[A-Za-z0-9+/=]*[0-9+/=])[A-Za-z0-9+/=]{12,}"), r"\1 ***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),  # user:password@ in a URL
)
#: Names of environment variables that hold secrets: HF_TOKEN, OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, DB_PASSWORD...
_SECRET_NAME = re.compile(
    r"(?i)(^|_)(token|secret|password|passwd|api_?key|access_?key|private_?key|credentials?|auth)(_|$)"
)


def _secret_values() -> list[str]:
    """Values of environment variables whose names say they hold a secret (HF_TOKEN, OPENAI_API_KEY...)."""
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v.strip()) >= 6}
    return sorted(values, key=len, reverse=True)


def redact_secrets(text: str) -> str:
    """``text`` without secrets: the Hub token (and anything shaped like one, :func:`advisor.hub.settings.redact`),
    API keys and bearer tokens by their shape, passwords in URLs, and the value of every environment
    variable whose name says it is a secret."""
    for value in _secret_values():
        text = text.replace(value.strip(), "***")
    text = redact(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, redacted: how a plugin's exception is quoted."""
    text = _text(exc).strip()
    first = text.splitlines()[0] if text else ""
    if len(first) > _MAX_MESSAGE:
        first = first[:_MAX_MESSAGE] + "..."
    return redact_secrets(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


def _text(value: object, render: Callable[[object], str] = str) -> str:
    """``str(value)`` (or ``render``) of a plugin's object, which may itself raise: never raises,
    except for the guard's own alarm."""
    try:
        text = render(value)
        return text if isinstance(text, str) else "<unprintable>"
    except _Timeout:
        raise
    except BaseException:
        return "<unprintable>"


# --- faults ---------------------------------------------------------------------------------------


class PluginFault(Exception):
    """Plugin code failed. ``detail`` says how (redacted); ``stops`` is true when the plugin tried to
    end or stall the run (exit, BaseException, time or memory limit): the host runs none of its code
    again in this run."""

    def __init__(self, detail: str, *, stops: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.stops = stops


class BadAnswer(Exception):
    """Raised by a hook's answer check (inside the guard): the message is the whole complaint."""


class _Timeout(BaseException):
    """Raised in the plugin's frame by the alarm; a BaseException so ``except Exception`` misses it."""


class _ProcessExit(BaseException):
    """Raised instead of ending the process when plugin code calls ``os._exit`` or ``os.abort``."""

    def __init__(self, call: str) -> None:
        super().__init__(call)
        self.call = call


_REAL_EXIT = os._exit
_REAL_ABORT = os.abort


class Guard:
    """Runs plugin code with the protections above. Re-entrant: the outermost :meth:`shield`
    installs them once for a stage (thousands of checks cost one install), :meth:`call` arms the
    timer for one call; a call made from inside another call (a registration hook reading the
    catalog, which runs other plugins' sources) shares the outer call's timer."""

    def __init__(self, limits: PluginLimits | None = None) -> None:
        self.limits = limits or PluginLimits()
        self._shields = 0
        self._calls = 0
        self._interrupted = False
        self._timers = False
        self._armed = False
        self._fired = False
        self._memory_capped = False
        self._threads: set[threading.Thread] = set()

    # the stage-wide protections ------------------------------------------------------------------
    @contextmanager
    def shield(self) -> Iterator[None]:
        """Install the protections for a stage of plugin calls (nested shields are free)."""
        if self._shields:
            self._shields += 1
            try:
                yield
            finally:
                self._shields -= 1
            return
        self._shields = 1
        self._interrupted = False
        self._threads = set(threading.enumerate())
        undo: list[Callable[[], None]] = []
        try:
            undo.append(_stdout_to_stderr())
            undo.append(self._patch_exits())
            undo.append(self._guard_exit_handlers())
            undo.append(self._watch_sigint())
            undo.append(self._install_alarm())
            undo.append(self._cap_memory())
            yield
        finally:
            for step in reversed(undo):
                step()
            self._shields = 0

    def _patch_exits(self) -> Callable[[], None]:
        guard = self

        def _exit(status: int) -> NoReturn:
            if guard._shields:
                raise _ProcessExit(f"os._exit({status!r})")
            _REAL_EXIT(status)

        def _abort() -> NoReturn:
            if guard._shields:
                raise _ProcessExit("os.abort()")
            _REAL_ABORT()

        modules = [module for module in (os, sys.modules.get("posix")) if module is not None]
        for module in modules:
            setattr(module, "_exit", _exit)  # noqa: B010 (mypy refuses assigning to a module's function)
            setattr(module, "abort", _abort)  # noqa: B010

        def undo() -> None:
            for module in modules:
                setattr(module, "_exit", _REAL_EXIT)  # noqa: B010
                setattr(module, "abort", _REAL_ABORT)  # noqa: B010

        return undo

    def _guard_exit_handlers(self) -> Callable[[], None]:
        """``atexit`` handlers plugin code registers run guarded too (after the command's output)."""
        import atexit

        real_register = atexit.register
        guard = self

        def register(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
            def guarded() -> None:
                try:
                    guard.call(
                        lambda: func(*args, **kwargs), seconds=guard.limits.call_s, setting=guard.limits.call_setting
                    )
                except PluginFault as fault:
                    print(f"advisor: warning: a plugin's exit handler {fault.detail}", file=sys.stderr)

            real_register(guarded)
            return func

        setattr(atexit, "register", register)  # noqa: B010

        def undo() -> None:
            setattr(atexit, "register", real_register)  # noqa: B010

        return undo

    def _watch_sigint(self) -> Callable[[], None]:
        """Note a real SIGINT, so a KeyboardInterrupt can be told from one a plugin raised."""
        try:
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.default_int_handler:
                return lambda: None

            def on_sigint(signum: int, frame: Any) -> None:
                self._interrupted = True
                raise KeyboardInterrupt

            signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main thread: no signal handlers here
            return lambda: None

        def undo() -> None:
            signal.signal(signal.SIGINT, previous)

        return undo

    def _install_alarm(self) -> Callable[[], None]:
        self._timers = False
        if not hasattr(signal, "setitimer") or not (self.limits.call_s or self.limits.load_s):
            return lambda: None
        try:
            if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
                return lambda: None  # someone else's alarm is running: leave it alone (no time limits)
            previous = signal.signal(signal.SIGALRM, self._on_alarm)
        except ValueError:  # not the main thread
            return lambda: None
        self._timers = True

        def undo() -> None:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self._timers = False

        return undo

    def _cap_memory(self) -> Callable[[], None]:
        self._memory_capped = False
        if not self.limits.memory_mb:
            return lambda: None
        try:
            import resource

            in_use = _address_space_bytes()
            if in_use is None:
                return lambda: None
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = in_use + self.limits.memory_mb * 2**20
            if hard != resource.RLIM_INFINITY:
                cap = min(cap, hard)
            if soft != resource.RLIM_INFINITY and soft <= cap:
                return lambda: None  # already tighter than ours
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        except (ImportError, OSError, ValueError):
            return lambda: None
        self._memory_capped = True

        def undo() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
            self._memory_capped = False

        return undo

    # one call ------------------------------------------------------------------------------------
    def call(self, function: Callable[[], T], *, seconds: float | None, setting: str = "") -> T:
        """Run ``function`` (plugin code) and return its result, or raise :class:`PluginFault`.

        ``InputError`` and ``PluginError`` pass through (a plugin's verdict on the answers, or
        strict mode stopping the run), as does the user's Ctrl-C.
        """
        if not self._shields:
            with self.shield():
                return self._call(function, seconds, setting)
        return self._call(function, seconds, setting)

    def _call(self, function: Callable[[], T], seconds: float | None, setting: str) -> T:
        depth = self._calls
        armed = depth == 0 and self._timers and bool(seconds)
        self._calls = depth + 1
        threads = threading.active_count()
        fault: PluginFault | None = None
        try:
            try:
                if armed:
                    assert seconds is not None
                    self._armed, self._fired = True, False
                    signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_SECONDS)
                result = function()
                if armed and self._fired:
                    raise _Timeout  # the plugin swallowed the alarm and went on: still over its limit
            except _Timeout:
                raise
            except (InputError, PluginError) as exc:
                exc.args = (redact_secrets(_text(exc)),)
                raise
            except KeyboardInterrupt:
                if self._interrupted:
                    raise
                fault = PluginFault("raised KeyboardInterrupt (not the user's Ctrl-C)", stops=True)
            except BaseException as exc:
                fault = self._fault(exc)  # under the timer: describing plugin objects runs plugin code
            finally:
                self._calls = depth
                if armed:
                    self._disarm()
                if threading.active_count() > threads:
                    self._daemonise_new_threads()
        except _Timeout:
            self._calls = depth
            if not armed:
                raise  # the outer call's limit: its plugin is charged
            self._disarm()
            raise PluginFault(f"timed out after {seconds:g} s (the limit is {setting})", stops=True) from None
        if self._interrupted:
            raise KeyboardInterrupt  # the user's Ctrl-C, swallowed by the plugin
        if fault is not None:
            raise fault
        return result

    def _fault(self, exc: BaseException) -> PluginFault:
        """What a plugin's exception (or exit) means for the run."""
        if isinstance(exc, SystemExit):
            return PluginFault(redact_secrets(f"called sys.exit({_text(exc.code, repr)})"), stops=True)
        if isinstance(exc, _ProcessExit):
            return PluginFault(f"called {exc.call}", stops=True)
        if isinstance(exc, MemoryError):
            if self._memory_capped:
                limit = f"{self.limits.memory_mb} MiB, ADVISOR_PLUGIN_MEMORY_MB"
                return PluginFault(f"went over its memory limit ({limit})", stops=True)
            return PluginFault("raised MemoryError", stops=True)
        if isinstance(exc, BadAnswer):
            return PluginFault(redact_secrets(_text(exc)), stops=False)
        if isinstance(exc, Exception):
            return PluginFault(f"raised {describe(exc)}", stops=False)
        return PluginFault(f"raised {describe(exc)} (a BaseException)", stops=True)

    def _daemonise_new_threads(self) -> None:
        """Threads plugin code started and left running must not keep the command from exiting."""
        for thread in threading.enumerate():
            if thread not in self._threads and not thread.daemon:
                thread._daemonic = True  # type: ignore[attr-defined]  # the setter refuses a started thread
        self._threads = set(threading.enumerate())

    def _disarm(self) -> None:
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._armed:  # a late alarm, after the call returned, is ignored
            self._fired = True
            raise _Timeout


def _address_space_bytes() -> int | None:
    """The process's virtual memory size (Linux ``/proc/self/statm``), or None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _stdout_to_stderr() -> Callable[[], None]:
    """Point ``sys.stdout`` and file descriptor 1 at stderr; the returned function undoes it."""
    saved_stream = sys.stdout
    saved_fd: int | None = None
    try:
        if saved_stream is not None:
            saved_stream.flush()
    except (OSError, ValueError):
        pass
    try:
        saved_fd = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved_fd = None
    sys.stdout = sys.stderr if sys.stderr is not None else io.StringIO()

    def undo() -> None:
        try:
            if sys.stderr is not None:
                sys.stderr.flush()
        except (OSError, ValueError):
            pass
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
        sys.stdout = saved_stream

    return undo
