"""The Hugging Face Hub as a source of model facts, through ``huggingface_hub``.

Everything the checks need about a model the catalog does not know is read from the Hub: the
licence (card data, tags, ``license_name`` / ``license_link``), the gated flag, the ``base_model``
lineage, languages, the safetensors parameter count, the architecture from the repo's
``config.json`` (parsed as JSON, never executed), and the GGUF files with their sizes and quant
types. This is the edge where the network and untrusted data come in; see docs/hub.md.

Modules, from the data inwards to the public calls:

* :mod:`~advisor.hub.records` -- :class:`HubModel` and ``GgufFile``, what the sub-system hands out.
* :mod:`~advisor.hub.settings` -- endpoint, caches, token, offline flag and timeouts, read at call time;
  ``redact`` keeps the token out of every message.
* :mod:`~advisor.hub.parsing` -- pure readings: repo ids, quant types in file names, split GGUFs,
  MoE active parameters, input modalities.
* :mod:`~advisor.hub.licence` -- the card's licence under the id the licence checks look up.
* :mod:`~advisor.hub.errors` -- every client failure as one line, exit 2 (input) or 3 (environment).
* :mod:`~advisor.hub.transport` -- the HTTP client under ``huggingface_hub``: connect and read
  timeouts on every request, one deadline per command.
* :mod:`~advisor.hub.client` -- the ``huggingface_hub`` calls, API calls with a bounded backoff.
* :mod:`~advisor.hub.cache` -- the metadata cache of built facts, for offline use.
* :mod:`~advisor.hub.lineage` -- the base models' own cards up the ``base_model`` chain (bounded,
  cycle-safe): the licences a fine-tune inherits, also from bases the catalog does not hold.
* :mod:`~advisor.hub.facts` -- a ``model_info`` answer (and its config.json) as a :class:`HubModel`.
* :mod:`~advisor.hub.fetch` -- :func:`fetch_model`, :func:`model_record_for`, :func:`download_gguf`.
* :mod:`~advisor.hub.refresh` -- what the Hub says today about a catalog model (``catalog update``).
* :mod:`~advisor.hub.search` -- :func:`search_models` and ``plan --hub N``'s
  :func:`hub_models_for_requirements`.

The names below are what the rest of the advisor uses; the submodules import each other, never
this package.
"""

from typing import TYPE_CHECKING

from advisor.lazy import lazy_attributes

_EXPORTS: dict[str, str] = {
    "HubModel": "advisor.hub.records",
    "download_gguf": "advisor.hub.fetch",
    "fetch_model": "advisor.hub.fetch",
    "gguf_repos_of": "advisor.hub.refresh",
    "hub_models_for_requirements": "advisor.hub.search",
    "is_hub_repo_id": "advisor.hub.parsing",
    "model_record_for": "advisor.hub.fetch",
    "search_models": "advisor.hub.search",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from advisor.hub.fetch import download_gguf as download_gguf
    from advisor.hub.fetch import fetch_model as fetch_model
    from advisor.hub.fetch import model_record_for as model_record_for
    from advisor.hub.parsing import is_hub_repo_id as is_hub_repo_id
    from advisor.hub.records import HubModel as HubModel
    from advisor.hub.refresh import gguf_repos_of as gguf_repos_of
    from advisor.hub.search import hub_models_for_requirements as hub_models_for_requirements
    from advisor.hub.search import search_models as search_models

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
