"""Where the Hub is, where its files are cached, which token to send, and keeping that token secret.

Read on every call and passed to the client explicitly: ``huggingface_hub`` reads ``HF_ENDPOINT``,
``HF_HOME`` / ``HF_HUB_CACHE``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` once at import time, which would
make a changed environment (tests, a long-lived process) silently talk to the wrong Hub.

The network limits (:class:`HubTimeouts`: connect, read, and the deadline of one command's Hub
calls) are ``ADVISOR_HUB_*`` variables in seconds; :mod:`advisor.hub.transport` applies them.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from advisor.errors import InputError

HUB_WEB_URL = "https://huggingface.co"
DEFAULT_ENDPOINT = HUB_WEB_URL

_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


#: Defaults of the network limits, in seconds (docs/hub.md): a connection the Hub does not accept,
#: a wait for the next byte of an answer, and all the Hub calls of one command (retries included).
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_DEADLINE_S = 300.0

CONNECT_TIMEOUT_ENV = "ADVISOR_HUB_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "ADVISOR_HUB_READ_TIMEOUT"
DEADLINE_ENV = "ADVISOR_HUB_DEADLINE"


@dataclass(frozen=True)
class HubTimeouts:
    """Network limits in seconds: per connection, per read, and for one command's Hub calls."""

    connect_s: float = DEFAULT_CONNECT_TIMEOUT_S
    read_s: float = DEFAULT_READ_TIMEOUT_S
    deadline_s: float = DEFAULT_DEADLINE_S


@dataclass(frozen=True)
class HubSettings:
    """Where the Hub is, where files are cached, and which token to send (None: send none)."""

    endpoint: str
    hub_cache: Path
    token: str | None
    offline: bool
    timeouts: HubTimeouts = field(default_factory=HubTimeouts)


def _seconds(name: str, default: float) -> float:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}={raw}: expected a number of seconds greater than 0, e.g. {name}={default:g}")
    return value


def timeouts() -> HubTimeouts:
    """The limits from ``ADVISOR_HUB_CONNECT_TIMEOUT``, ``ADVISOR_HUB_READ_TIMEOUT`` and ``ADVISOR_HUB_DEADLINE``."""
    return HubTimeouts(
        connect_s=_seconds(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_S),
        read_s=_seconds(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT_S),
        deadline_s=_seconds(DEADLINE_ENV, DEFAULT_DEADLINE_S),
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hf_home() -> Path:
    """``HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface`` (the client's rule)."""
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def read_token() -> str | None:
    """``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``), else the token file in ``HF_HOME``; None if none."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = (os.environ.get(name) or "").strip()
        if value:
            return value
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home() / "token").expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def settings(*, offline: bool = False) -> HubSettings:
    """The current settings; ``offline`` is the ``--offline`` flag, OR-ed with ``HF_HUB_OFFLINE``."""
    endpoint = (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return HubSettings(
        endpoint=endpoint,
        hub_cache=Path(cache).expanduser() if cache else hf_home() / "hub",
        token=read_token(),
        offline=offline or _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")),
        timeouts=timeouts(),
    )


def redact(text: str, token: str | None = None) -> str:
    """``text`` with the token (and anything shaped like a Hub token) replaced by ``***``."""
    token = token if token is not None else read_token()
    if token:
        text = text.replace(token, "***")
    return _TOKEN_PATTERN.sub("hf_***", text)
