"""The HTTP client ``huggingface_hub`` uses: a connect and a read timeout on every request, and one
deadline for all the Hub calls of a command.

``huggingface_hub`` sends API calls with no timeout at all (``model_info`` waited forever on a Hub
that accepted the connection and never answered) and downloads with a 10 s timeout that its
retry loops multiply. :func:`install` gives it a client (``set_client_factory``) whose ``send``:

* sets the connect and read timeouts of :class:`~advisor.hub.settings.HubTimeouts` on every
  request, whatever the caller asked for (``None`` included), capped by what is left of the deadline;
* turns a timeout into :class:`HubTimeout`, which is not an ``httpx`` error, so no retry loop of
  the client catches it: the command fails once, at the limit, and the message names the host,
  the limit and the variable that sets it;
* checks the deadline before every request and between the chunks of every answer up to
  :data:`DEADLINE_BODY_MAX_BYTES` (a large file download that keeps receiving bytes is not cut off;
  each of its reads is still bounded by the read timeout);
* caps a ``Retry-After`` to :data:`RETRY_AFTER_MAX_S` and to the time left, and drops the
  ``RateLimit`` headers the client would otherwise sleep on, unbounded.

File downloads go through plain HTTPS (``HF_HUB_DISABLE_XET`` is set in the client's constants):
the ``hf_xet`` transfer runs in native code these limits cannot reach.

The deadline belongs to a scope, :func:`command_deadline` (the CLI opens one per command); it
starts at the scope's first request. Outside a scope only the per-request timeouts apply.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

from advisor.hub.settings import CONNECT_TIMEOUT_ENV, DEADLINE_ENV, READ_TIMEOUT_ENV, HubTimeouts, timeouts

#: Answers up to this size (or of unknown size) count against the deadline chunk by chunk.
DEADLINE_BODY_MAX_BYTES = 64 << 20
#: The longest wait a ``Retry-After`` may ask of the client.
RETRY_AFTER_MAX_S = 30.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class HubTimeout(Exception):
    """A Hub request hit a limit; ``str()`` names the host, the limit and its variable.

    Deliberately not an ``httpx`` error: the client's retry loops must not catch it.
    """


class _Deadline:
    """The deadline of one scope: started by its first request."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.limit_s: float | None = None

    def remaining(self, limits: HubTimeouts) -> float:
        now = time.monotonic()
        if self.started is None:
            self.started, self.limit_s = now, limits.deadline_s
        limit = self.limit_s if self.limit_s is not None else limits.deadline_s
        return limit - (now - self.started)


_scope: _Deadline | None = None
_scope_lock = threading.Lock()


@contextlib.contextmanager
def command_deadline() -> Iterator[None]:
    """Every Hub request inside shares one deadline (``ADVISOR_HUB_DEADLINE``); nested scopes join the outer."""
    global _scope
    with _scope_lock:
        outer = _scope
        if outer is None:
            _scope = _Deadline()
    try:
        yield
    finally:
        if outer is None:
            with _scope_lock:
                _scope = None


def deadline_left(limits: HubTimeouts | None = None) -> float | None:
    """Seconds left of the current scope's deadline (started now if not yet), or None outside a scope."""
    scope = _scope
    if scope is None:
        return None
    return scope.remaining(limits or timeouts())


def deadline_message(host: str, limits: HubTimeouts, detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (
        f"the Hub calls of this command did not finish within {limits.deadline_s:g} s ({DEADLINE_ENV}) at {host}{extra}"
    )


def host_of(url: Any) -> str:
    host = str(url.host)
    return f"{host}:{url.port}" if url.port else host


def _timeout_message(exc: BaseException, host: str, connect: float, read: float) -> str:
    name = type(exc).__name__
    if "Connect" in name or "Pool" in name:
        return f"no connection to {host} within {connect:g} s ({CONNECT_TIMEOUT_ENV})"
    return f"{host} did not answer within {read:g} s ({READ_TIMEOUT_ENV})"


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Make ``huggingface_hub`` use the guarded client (once per process; cheap afterwards)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        from huggingface_hub import constants, set_client_factory

        constants.HF_HUB_DISABLE_XET = True
        set_client_factory(_client_factory)
        _installed = True


def _client_factory() -> Any:
    from huggingface_hub.utils._http import hf_request_event_hook

    return _guarded_client_class()(
        event_hooks={"request": [hf_request_event_hook]}, follow_redirects=True, timeout=None
    )


_CLIENT_CLASS: Any = None


def _http_library() -> Any:
    """The HTTP library ``huggingface_hub`` itself uses (``httpx2`` in 2.x, ``httpx`` in 1.x): the
    client is built on the same one, never a second, possibly different, version of it."""
    from huggingface_hub.utils import _http

    library = getattr(_http, "httpx2", None) or getattr(_http, "httpx", None)
    if library is None:  # pragma: no cover - a client version laid out differently
        raise RuntimeError("huggingface_hub's HTTP library was not found; the Hub timeouts cannot be applied")
    return library


def _guarded_client_class() -> Any:
    """The ``Client`` subclass (built on first use: importing the HTTP library costs start-up time)."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is not None:
        return _CLIENT_CLASS
    httpx2 = _http_library()
    stream_base: Any = httpx2.SyncByteStream
    client_base: Any = httpx2.Client

    class GuardedStream(stream_base):  # type: ignore[misc]  # a class of the client's HTTP library
        def __init__(self, inner: Any, host: str, limits: HubTimeouts, read: float, counts: bool) -> None:
            self.inner, self.host, self.limits, self.read, self.counts = inner, host, limits, read, counts

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self.inner:
                    if self.counts:
                        left = deadline_left(self.limits)
                        if left is not None and left <= 0:
                            raise HubTimeout(deadline_message(self.host, self.limits))
                    yield chunk
            except httpx2.TimeoutException as exc:
                raise HubTimeout(_timeout_message(exc, self.host, self.limits.connect_s, self.read)) from None

        def close(self) -> None:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()

    class GuardedClient(client_base):  # type: ignore[misc]
        def send(self, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
            limits = timeouts()
            host = host_of(request.url)
            connect, read = limits.connect_s, limits.read_s
            left = deadline_left(limits)
            if left is not None:
                if left <= 0:
                    raise HubTimeout(deadline_message(host, limits))
                connect, read = min(connect, left), min(read, left)
            request.extensions = {
                **request.extensions,
                "timeout": {"connect": connect, "read": read, "write": read, "pool": connect},
            }
            try:
                response = super().send(request, stream=True, **kwargs)
            except httpx2.TimeoutException as exc:
                connecting = "Connect" in type(exc).__name__ or "Pool" in type(exc).__name__
                configured = limits.connect_s if connecting else limits.read_s
                if left is not None and left < configured:  # the limit that hit was the deadline's
                    raise HubTimeout(deadline_message(host, limits)) from None
                raise HubTimeout(_timeout_message(exc, host, connect, read)) from None
            if response.status_code in RETRY_STATUSES:
                _bound_waits(response, host, limits)
            size = response.headers.get("content-length")
            counts = not (size and size.isdigit() and int(size) > DEADLINE_BODY_MAX_BYTES)
            response.stream = GuardedStream(response.stream, host, limits, read, counts)
            if not stream:
                try:
                    response.read()
                except BaseException:
                    response.close()
                    raise
            return response

    _CLIENT_CLASS = GuardedClient
    return GuardedClient


def retry_after_seconds(value: str | None, cap_s: float) -> float | None:
    """A ``Retry-After`` in seconds, at most ``cap_s``; None when absent or not a finite number >= 0
    (an HTTP date, ``nan``, ``-5``: the caller's own backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(seconds, cap_s) if math.isfinite(seconds) and seconds >= 0 else None


def _bound_waits(response: Any, host: str, limits: HubTimeouts) -> None:
    """Cap what a 429/5xx asks the client to wait: ``Retry-After`` at most RETRY_AFTER_MAX_S and the
    time left; the ``RateLimit`` headers (slept on with no cap) dropped. No time left: stop here."""
    headers = response.headers
    for key in [k for k in headers if k.lower().startswith("ratelimit")]:
        del headers[key]
    raw = headers.get("retry-after")
    wait = retry_after_seconds(raw, RETRY_AFTER_MAX_S)
    left = deadline_left(limits)
    if left is not None and wait is not None and wait >= left:
        response.close()
        detail = f"HTTP {response.status_code}, asked to wait {wait:g} s"
        raise HubTimeout(deadline_message(host, limits, detail))
    if raw is not None:
        headers["retry-after"] = f"{int(wait)}" if wait is not None else "1"
