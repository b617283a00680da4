"""The catalog: the packaged data (catalog/, installed as ``advisor_catalog``) and its schemas.

Modules:

- ``kinds``: the five kinds of catalog record (models, apis, hardware, licenses, quants), spelled once.
- ``records``: the record schemas, one per kind, each with its source and date.
- ``loader``: the :class:`Catalog` of records: built-in files, plugin sources, the update overlay and a
  ``--catalog-dir`` overlay; when each record was last checked upstream.
- ``overlay``: the user's data directory and the overlay ``advisor catalog update`` writes there (field-level
  patches, added records, check and missing days); a corrupt one is an error naming the file.
- ``update``: ``advisor catalog update``: the diff against the Hub and the price table, and the new overlay.
- ``prices``: LiteLLM's price table read as API record fields (shared with scripts/import_litellm_prices.py).
- ``freshness``: how old the records a plan leans on are, and the warning past planning.yaml's limit.
- ``tables``: the one reader of every packaged table (YAML/CSV): one place that opens the files, one
  error style; the estimators' constants and policies are validated through it into their schemas.
- ``planning``: the planning defaults (catalog/planning.yaml): the quants ``plan`` and ``fit`` assess,
  the rented "cloud" devices, build targets and the GPU-server format of each quant level.
"""
