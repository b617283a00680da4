"""Every failure of the client as one user-facing line, with the exit code it deserves.

A missing or gated repo, a rejected token or a missing file is the user's input
(:class:`InputError`, exit 2); rate limiting, a Hub outage, no network, a timeout or a cold cache offline is
the environment (:class:`EnvironmentProblem`, exit 3). Messages are built here and never quote the
token: the one that quotes the client's text passes it through :func:`~advisor.hub.settings.redact`.
"""

from __future__ import annotations

from collections.abc import Iterator

from advisor.errors import AdvisorError, EnvironmentProblem, InputError
from advisor.hub.settings import HUB_WEB_URL, HubSettings, redact
from advisor.hub.transport import HubTimeout


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of the response an exception carries, if any."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_network_error(exc: BaseException) -> bool:
    module = type(exc).__module__.split(".")[0]
    if module in {"httpx", "httpx2", "requests", "urllib3", "httpcore"}:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError)) and http_status(exc) is None


def translate_error(exc: BaseException, repo_id: str | None, what: str, hub: HubSettings) -> AdvisorError:
    """One user-facing error for a failure of the client; never quotes the token."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    subject = f"MODEL {repo_id}" if repo_id else "Hugging Face Hub"
    page = f"{HUB_WEB_URL}/{repo_id}" if repo_id else HUB_WEB_URL
    for err in _chain(exc):
        if isinstance(err, HubTimeout):
            return EnvironmentProblem(
                f"{subject}: {err} for {what}; retry later, raise the limit, or use --offline with cached data"
            )
    for err in _chain(exc):
        if isinstance(err, GatedRepoError):
            if hub.token:
                return InputError(
                    f"{subject}: gated repository, and the token in HF_TOKEN has no access yet: accept the terms "
                    f"on {page} with that account (some repos approve requests by hand), then retry"
                )
            return InputError(
                f"{subject}: gated repository: log in on {page} and accept its terms, then create a read token "
                f"at {HUB_WEB_URL}/settings/tokens and set it as HF_TOKEN"
            )
        if isinstance(err, RepositoryNotFoundError):
            hint = "" if hub.token else " (a private repo needs HF_TOKEN)"
            return InputError(f"{subject}: no such repository on the Hub{hint}")
        if isinstance(err, RevisionNotFoundError):
            return InputError(f"{subject}: the Hub has no such revision for {what}")
        if isinstance(err, EntryNotFoundError) and not isinstance(err, LocalEntryNotFoundError):
            return InputError(f"{subject}: {what} is not in the repository")
        if isinstance(err, OfflineModeIsEnabled):
            return EnvironmentProblem(f"{subject}: {what} is not in the local cache and offline mode is on")
        status = http_status(err)
        if status == 429:
            return EnvironmentProblem(
                f"{subject}: the Hub is rate limiting requests (HTTP 429) for {what}, still after retrying with "
                "backoff; wait a few minutes, set HF_TOKEN for a higher limit, or use --offline with cached data"
            )
        if status == 401:
            if hub.token:
                return InputError(f"{subject}: the Hub rejected the token in HF_TOKEN (HTTP 401): create a new one")
            return InputError(f"{subject}: the Hub asks for a token (HTTP 401): set HF_TOKEN to a read token")
        if status == 403:
            why = "the token in HF_TOKEN lacks read permission here" if hub.token else "set HF_TOKEN to a read token"
            return InputError(f"{subject}: the Hub refused access (HTTP 403): {why}")
        if status is not None and status >= 500:
            return EnvironmentProblem(
                f"{subject}: the Hub answered HTTP {status} for {what}; retry later or use --offline"
            )
        if status is not None:
            return EnvironmentProblem(f"{subject}: the Hub answered HTTP {status} for {what}")
    for err in _chain(exc):
        if _is_network_error(err):
            return EnvironmentProblem(
                f"{subject}: cannot reach the Hugging Face Hub at {hub.endpoint} ({type(err).__name__}) for {what}; "
                "check the network, or use --offline (HF_HUB_OFFLINE=1) to work from the cache"
            )
    if isinstance(exc, LocalEntryNotFoundError):
        if hub.offline:
            return EnvironmentProblem(f"{subject}: {what} is not in the local cache and offline mode is on")
        return EnvironmentProblem(
            f"{subject}: cannot download {what} from {hub.endpoint} and it is not cached; "
            "check the network, or use --offline (HF_HUB_OFFLINE=1) with a warm cache"
        )
    detail = " ".join(str(exc).split())  # one line, whatever the client's message looks like
    return EnvironmentProblem(redact(f"{subject}: {what} failed: {type(exc).__name__}: {detail}", hub.token))
