"""The catalog: the packaged data (catalog/, installed as ``advisor_catalog``) and its schemas.

Modules:

- ``kinds``: the five kinds of catalog record (models, apis, hardware, licenses, quants), spelled once.
- ``records``: the record schemas, one per kind, each with its source and date.
- ``loader``: the :class:`Catalog` of records: built-in files, plugin sources and a ``--catalog-dir`` overlay.
- ``tables``: the one reader of every packaged table (YAML/CSV): one place that opens the files, one
  error style; the estimators' constants and policies are validated through it into their schemas.
- ``planning``: the planning defaults (catalog/planning.yaml): the quants ``plan`` and ``fit`` assess,
  the rented "cloud" devices, build targets and the GPU-server format of each quant level.
"""
