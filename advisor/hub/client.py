"""The calls to ``huggingface_hub``: API calls with a bounded backoff, file downloads through its cache.

API answers (``model_info``, ``list_models``) are retried on 429 and 5xx with exponential backoff
(a ``Retry-After`` header is honoured up to a cap), and only then: a refused connection or a name
that does not resolve will not be different in a second, so it fails at once, in one line.
``list_models`` pages through the client's own ``http_backoff``, which would retry those network
errors five times over some 23 s, logging a line each time, and 429/5xx six times inside each of
our attempts; :func:`list_models` makes it one request per page, so :func:`retrying` is the one
retry loop. ``hf_hub_download`` retries its own requests, so files get no second loop. Every
request has a connect and a read timeout, and all of them share the command's deadline
(:mod:`advisor.hub.transport`); the backoff never sleeps past it. Every failure leaves here as
one line (:mod:`advisor.hub.errors`). The client is imported inside the calls: ``advisor --help``
must not pay for it.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from advisor.hub.errors import http_status, translate_error
from advisor.hub.settings import HubSettings, timeouts
from advisor.hub.transport import HubTimeout, deadline_left, deadline_message, host_of, install, retry_after_seconds

T = TypeVar("T")

#: Attempts for one API call when the Hub answers 429 or a 5xx, and the waits between them
#: (doubling from BASE, capped at MAX; a ``Retry-After`` header is honoured up to RETRY_AFTER_CAP).
MAX_ATTEMPTS = 4
BASE_DELAY_S = 1.0
MAX_DELAY_S = 8.0
RETRY_AFTER_CAP_S = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_sleep: Callable[[float], None] = time.sleep  # replaced in tests to observe the backoff


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return retry_after_seconds(headers.get("Retry-After") if headers is not None else None, RETRY_AFTER_CAP_S)


def retrying(call: Callable[[], T]) -> T:
    """``call()``, retried on 429 and 5xx with bounded exponential backoff; the last error is raised as is.

    Only for API calls: ``hf_hub_download`` already retries its own requests with a bounded backoff.
    """
    delay = BASE_DELAY_S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return call()
        except Exception as exc:
            if http_status(exc) not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                raise
            asked = _retry_after(exc)
            wait = min(asked if asked is not None else delay, RETRY_AFTER_CAP_S)
            left = deadline_left()
            if left is not None and wait >= left:  # the wait would outlast the command's deadline
                request = getattr(getattr(exc, "response", None), "request", None)
                host = host_of(request.url) if request is not None else "the Hub"
                detail = f"HTTP {http_status(exc)} after {attempt} attempt{'s' if attempt > 1 else ''}"
                raise HubTimeout(deadline_message(host, timeouts(), detail)) from None
            _sleep(wait)
            delay = min(delay * 2, MAX_DELAY_S)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def with_backoff(call: Callable[[], T], repo_id: str | None, what: str, hub: HubSettings) -> T:
    """:func:`retrying`, with failures translated into one-line errors."""
    try:
        return retrying(call)
    except Exception as exc:
        raise translate_error(exc, repo_id, what, hub) from None


def api(hub: HubSettings) -> Any:
    """An ``HfApi`` for these settings (endpoint and token passed explicitly)."""
    from huggingface_hub import HfApi

    install()
    return HfApi(endpoint=hub.endpoint, token=hub.token or False)


@contextlib.contextmanager
def _one_request_per_page() -> Iterator[None]:
    """While listing, the client's paginator sends each page once: no retries of its own.

    ``huggingface_hub.utils._pagination`` calls ``http_backoff`` with its defaults (network errors,
    408, 429 and 5xx retried five times); it is given ``http_backoff`` with nothing to retry on, for
    the duration of the call only. If a client version lays the paginator out differently, nothing
    is changed and its own retries stay.
    """
    try:
        from huggingface_hub.utils import _pagination
    except ImportError:
        yield
        return
    name = "http_backoff"
    original = getattr(_pagination, name, None)
    if original is None:
        yield
        return
    setattr(_pagination, name, functools.partial(original, retry_on_exceptions=(), retry_on_status_codes=()))
    try:
        yield
    finally:
        setattr(_pagination, name, original)


def list_models(hub: HubSettings, what: str, **kwargs: Any) -> list[Any]:
    """``HfApi.list_models(**kwargs)``, every page fetched, retried only on 429/5xx, translated."""
    client = api(hub)

    def listing() -> list[Any]:
        with _one_request_per_page():
            return list(client.list_models(**kwargs, token=hub.token or False))

    return with_backoff(listing, None, what, hub)


def download_raw(hub: HubSettings, repo_id: str, filename: str, revision: str | None) -> Path:
    """One file through ``hf_hub_download`` (its cache, ETags, redirects and retries); offline: cache only."""
    from huggingface_hub import hf_hub_download

    install()
    return Path(
        hf_hub_download(
            repo_id,
            filename,
            revision=revision,
            cache_dir=str(hub.hub_cache),
            endpoint=hub.endpoint,
            token=hub.token or False,
            local_files_only=hub.offline,
        )
    )


def download(hub: HubSettings, repo_id: str, filename: str, revision: str | None) -> Path:
    """:func:`download_raw` with failures translated into one-line errors."""
    try:
        return download_raw(hub, repo_id, filename, revision)
    except Exception as exc:
        raise translate_error(exc, repo_id, filename, hub) from None


def model_info(hub: HubSettings, repo_id: str) -> Any:
    """``model_info`` with file sizes and the security scan, retried and translated."""
    client = api(hub)
    return with_backoff(
        lambda: client.model_info(repo_id, files_metadata=True, securityStatus=True, token=hub.token or False),
        repo_id,
        "the model info",
        hub,
    )
