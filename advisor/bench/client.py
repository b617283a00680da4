"""One streaming request to an OpenAI-compatible endpoint, timed chunk by chunk, and its model list.

Only the standard library's ``http.client`` (one connection per request, so each worker thread
owns its socket). The endpoint is untrusted: every read is bounded (a line, a whole response, an
error body), JSON is parsed and never evaluated, and what reaches a message is cut to one short
line. A request never outlives its timeout by more than a second: the socket timeout bounds each
read, the elapsed time is checked after each line, and a timer shuts the socket down a second
after the timeout (an endpoint that sends a byte now and then, never a line end, keeps every read
short).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from advisor.bench.stats import RequestResult
from advisor.errors import EnvironmentProblem, InputError

Api = Literal["chat", "completions"]

#: Longest SSE line or JSON document read (a chunk is a few hundred bytes; a model list a few KiB).
MAX_LINE_BYTES = 1 << 20
#: Most bytes read from one streamed response.
MAX_RESPONSE_BYTES = 16 << 20
#: Most bytes of an error body quoted in a message.
MAX_ERROR_BYTES = 4096
#: A request's error when it did not end within its timeout.
TIMED_OUT = "timed out"
#: How long after its timeout a request that is still reading is cut off.
CUT_GRACE_S = 1.0


@dataclass(frozen=True)
class Endpoint:
    """The base URL every path is joined to (``http://host:port/v1``) and its parts."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    api_key: str | None = None

    def connection(self, timeout_s: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout_s)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "model-advisor-bench"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def parse_endpoint(url: str, api_key: str | None = None) -> Endpoint:
    """``http://host:port`` (``/v1`` added) or any base ending in its API root (kept as given)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"URL {url}: expected an http:// or https:// address, e.g. http://127.0.0.1:8080/v1")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"URL {url}: the port is not a number from 0 to 65535") from None
    if parts.query or parts.fragment:
        raise InputError(f"URL {url}: expected the API root without a query, e.g. http://127.0.0.1:8080/v1")
    path = parts.path.rstrip("/") or "/v1"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Endpoint(f"{parts.scheme}://{host}:{port}{path}", parts.scheme, parts.hostname, port, path, api_key)


def one_line(text: str, limit: int = 200) -> str:
    """Untrusted text made safe for a one-line message: control characters blanked, cut short."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@contextlib.contextmanager
def bounded(connection: http.client.HTTPConnection, timeout_s: float) -> Iterator[None]:
    """Connect, then at most ``timeout_s`` (and :data:`CUT_GRACE_S`) for everything inside: then the
    socket is shut down, which wakes a blocked read, and every later read times out at once unless
    data is already there (on Linux a socket shut down for reading still takes in what the peer
    sends). The grace lets a plain stall meet the socket's own timeout first ("timed out"); the cut
    is for a stream that keeps every read short and never ends.

    The socket is held here: the connection forgets it once a response that ends at close arrives.
    """
    connection.connect()
    sock = connection.sock

    def cut() -> None:
        with contextlib.suppress(OSError):
            sock.settimeout(1e-6)
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout_s + CUT_GRACE_S, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _connection_failure(exc: BaseException) -> bool:
    """The server is not there (refused, reset, name unknown), as opposed to slow or wrong."""
    return isinstance(exc, (ConnectionError, socket.gaierror, http.client.RemoteDisconnected)) or (
        isinstance(exc, OSError) and not isinstance(exc, TimeoutError) and exc.errno is not None
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return TIMED_OUT
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection"
    return one_line(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))


def list_models(endpoint: Endpoint, timeout_s: float) -> list[str]:
    """The ids ``GET /models`` lists, in its order.

    Raises :class:`EnvironmentProblem` when the endpoint cannot be reached (exit 3) and
    :class:`InputError` when it answers but lists no model (the user must name one: exit 2).
    """
    connection = endpoint.connection(timeout_s)
    started = time.monotonic()
    try:
        with bounded(connection, timeout_s):
            connection.request("GET", endpoint.path + "/models", headers=endpoint.headers())
            response = connection.getresponse()
            body = response.read(MAX_LINE_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:
        late = isinstance(exc, TimeoutError) or time.monotonic() - started >= timeout_s
        why = f"no answer within {timeout_s:g} s" if late else _describe(exc)
        raise EnvironmentProblem(f"{endpoint.url}: unreachable: {why}") from None
    finally:
        connection.close()
    if time.monotonic() - started >= timeout_s:
        raise EnvironmentProblem(f"{endpoint.url}: unreachable: no answer within {timeout_s:g} s")
    where = f"{endpoint.url}/models"
    if response.status != 200:
        snippet = one_line(body[:MAX_ERROR_BYTES].decode("utf-8", "replace"))
        raise InputError(f"{where}: HTTP {response.status} ({snippet}); name the model with --model")
    try:
        data = json.loads(body[:MAX_LINE_BYTES])
        ids = [str(item["id"]) for item in data["data"] if isinstance(item, dict) and "id" in item]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{where}: not an OpenAI model list; name the model with --model") from None
    if not ids:
        raise InputError(f"{where}: the endpoint lists no model; name one with --model")
    return ids


@dataclass(frozen=True)
class CompletionRequest:
    """What every request of a run sends."""

    api: Api
    model: str
    prompt: str
    max_tokens: int
    include_usage: bool = True

    def body(self) -> bytes:
        payload: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "stream": True}
        if self.api == "chat":
            payload["messages"] = [{"role": "user", "content": self.prompt}]
        else:
            payload["prompt"] = self.prompt
        if self.include_usage:
            payload["stream_options"] = {"include_usage": True}
        return json.dumps(payload).encode("utf-8")

    @property
    def route(self) -> str:
        return "/chat/completions" if self.api == "chat" else "/completions"


class _Failed(Exception):
    """A request that failed after it reached the server (bad status, bad stream, too long)."""


@dataclass
class _Stream:
    """What has arrived so far."""

    started: float
    first: float | None = None
    last: float | None = None
    chunks: int = 0
    usage_tokens: int | None = None
    prompt_tokens: int | None = None
    finished: bool = False
    ended: float | None = None
    gaps: list[float] = field(default_factory=list)

    def text_chunk(self, now: float) -> None:
        if self.first is None:
            self.first = now
        elif self.last is not None:
            self.gaps.append(now - self.last)
        self.last = now
        self.chunks += 1

    def read_event(self, payload: dict[str, Any], now: float) -> None:
        if "error" in payload:
            error = payload["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise _Failed(f"the stream reported an error: {one_line(str(message))}")
        usage = payload.get("usage")
        if isinstance(usage, dict):
            completion = usage.get("completion_tokens")
            prompt = usage.get("prompt_tokens")
            if isinstance(completion, int) and completion >= 0:
                self.usage_tokens = completion
            if isinstance(prompt, int) and prompt >= 0:
                self.prompt_tokens = prompt
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = choice.get("delta")
        texts = [choice.get("text")]
        if isinstance(delta, dict):
            texts += [delta.get("content"), delta.get("reasoning_content"), delta.get("reasoning")]
        if any(isinstance(t, str) and t for t in texts):
            self.text_chunk(now)
        if choice.get("finish_reason"):
            self.finished = True

    def result(self, error: str | None = None, connection_error: bool = False) -> RequestResult:
        end = self.ended if error is None and self.ended is not None else time.perf_counter()
        counted = self.usage_tokens if self.usage_tokens is not None else self.chunks
        return RequestResult(
            ok=error is None,
            error=error,
            connection_error=connection_error,
            ttft_s=None if self.first is None else self.first - self.started,
            e2e_s=end - self.started,
            output_tokens=counted,
            itl_s=tuple(self.gaps),
            usage_counted=self.usage_tokens is not None,
            prompt_tokens=self.prompt_tokens,
        )


def stream_completion(endpoint: Endpoint, request: CompletionRequest, timeout_s: float) -> RequestResult:
    """Send one streaming request and time it; never raises for the endpoint's faults.

    E2E ends at ``[DONE]`` (or the end of the stream after a finish reason); a stream that stops
    before either is a failure (the server died or dropped it), with what arrived still counted in
    the result's fields.
    """
    stream = _Stream(started=time.perf_counter())
    connection = endpoint.connection(timeout_s)
    try:
        with bounded(connection, timeout_s):
            connection.request("POST", endpoint.path + request.route, body=request.body(), headers=endpoint.headers())
            response = connection.getresponse()
            if response.status != 200:
                snippet = one_line(response.read(MAX_ERROR_BYTES).decode("utf-8", "replace"))
                raise _Failed(f"HTTP {response.status}: {snippet}" if snippet else f"HTTP {response.status}")
            _read_events(response, stream, timeout_s)
    except _Failed as exc:
        return stream.result(str(exc))
    except (OSError, http.client.HTTPException) as exc:
        if time.perf_counter() - stream.started >= timeout_s:  # cut by the timer, or a read timed out
            return stream.result(TIMED_OUT)
        return stream.result(_describe(exc), connection_error=_connection_failure(exc))
    finally:
        connection.close()
    return stream.result()


def _read_events(response: http.client.HTTPResponse, stream: _Stream, timeout_s: float) -> None:
    received = 0
    while True:
        line = response.readline(MAX_LINE_BYTES + 1)
        now = time.perf_counter()
        received += len(line)
        if len(line) > MAX_LINE_BYTES or received > MAX_RESPONSE_BYTES:
            raise _Failed("the response is too large")
        if now - stream.started > timeout_s:
            raise _Failed(f"no end of stream after {timeout_s:g} s")
        if not line:
            if stream.finished:
                stream.ended = now
                return
            raise _Failed("the stream ended before [DONE]")
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:"):
            continue  # blank separators, comments (":"), event and id fields
        data = text[5:].strip()
        if data == "[DONE]":
            stream.ended = now
            return
        try:
            payload = json.loads(data)
        except ValueError:
            raise _Failed(f"not JSON in the stream: {one_line(data, 80)}") from None
        if isinstance(payload, dict):
            stream.read_event(payload, now)
