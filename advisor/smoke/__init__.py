"""``advisor smoke``: run a GGUF through llama.cpp on this machine and hold the plan's prediction
against what really happens.

The flow (:func:`run_smoke`): read the file's header -> detect this machine and its memory
bandwidth (:mod:`advisor.machine`) -> measure how busy it is and choose the threads -> predict
with the shared estimators and this regime's calibration -> refuse when it will not fit
(``--force`` overrides) -> run llama.cpp in a worker subprocess with a timeout -> the
measurements beside the prediction and the verdict (pass, fail or inconclusive) -> the history.

Modules, one job each:

* :mod:`~advisor.smoke.backend` -- the llama.cpp backend, its install command, the check it is there.
* :mod:`~advisor.smoke.options` -- the CLI flags (:class:`SmokeOptions`) and their defaults.
* :mod:`~advisor.smoke.policy` -- the bands and thresholds, from catalog/smoke_policy.yaml.
* :mod:`~advisor.smoke.prediction` -- the prediction for this file on this machine (pure).
* :mod:`~advisor.smoke.runner` -- the worker process: run, time out, measure, say what went wrong.
* :mod:`~advisor.smoke.worker` -- the worker itself (``python -P -m advisor.smoke.worker``).
* :mod:`~advisor.smoke.chat_template` -- the file's chat template, rendered in a sandbox.
* :mod:`~advisor.smoke.load` -- how busy the machine was before and during the run (pure).
* :mod:`~advisor.smoke.threads` -- the thread count for this machine, and the history's hint (pure).
* :mod:`~advisor.smoke.verdict` -- pass, fail or inconclusive, with the reasons (pure).
* :mod:`~advisor.smoke.result` -- output checks, measurements against the prediction (pure).
* :mod:`~advisor.smoke.run` -- the whole run, start to history.
* :mod:`~advisor.smoke.history` -- the run history (SQLite).
* :mod:`~advisor.smoke.calibration` -- this machine's calibration per regime, learnt from the history.
* :mod:`~advisor.smoke.units` -- how numbers are written in messages and the JSON.

The names below are imported on first use (PEP 562): the worker subprocess starts by importing
this package, and must not pay for the estimators it never uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.lazy import lazy_attributes

_EXPORTS: dict[str, str] = {
    "DEFAULT_PROMPT": "advisor.smoke.options",
    "INSTALL_COMMAND": "advisor.smoke.backend",
    "SmokeOptions": "advisor.smoke.options",
    "WorkerOutcome": "advisor.smoke.runner",
    "build_result": "advisor.smoke.result",
    "check_backend": "advisor.smoke.backend",
    "failure_message": "advisor.smoke.runner",
    "output_sanity": "advisor.smoke.result",
    "predict": "advisor.smoke.prediction",
    "run_smoke": "advisor.smoke.run",
    "run_worker": "advisor.smoke.runner",
}

__all__ = [
    "DEFAULT_PROMPT",
    "INSTALL_COMMAND",
    "SmokeOptions",
    "WorkerOutcome",
    "build_result",
    "check_backend",
    "failure_message",
    "output_sanity",
    "predict",
    "run_smoke",
    "run_worker",
]

if TYPE_CHECKING:
    from advisor.smoke.backend import INSTALL_COMMAND as INSTALL_COMMAND
    from advisor.smoke.backend import check_backend as check_backend
    from advisor.smoke.options import DEFAULT_PROMPT as DEFAULT_PROMPT
    from advisor.smoke.options import SmokeOptions as SmokeOptions
    from advisor.smoke.prediction import predict as predict
    from advisor.smoke.result import build_result as build_result
    from advisor.smoke.result import output_sanity as output_sanity
    from advisor.smoke.run import run_smoke as run_smoke
    from advisor.smoke.runner import WorkerOutcome as WorkerOutcome
    from advisor.smoke.runner import failure_message as failure_message
    from advisor.smoke.runner import run_worker as run_worker


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
