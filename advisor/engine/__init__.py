"""The engine: a run from requirements to a plan, and what it computes on the way.

Modules:

- ``run``: the pipeline: candidates -> checks -> assessments -> ranking -> strategy -> deployment -> Plan.
- ``session``: one run's plugin host and what its plugins registered (catalog, checks, questions,
  backends); it builds the :class:`~advisor.model.context.AdvisorContext` the hooks see.
- ``host``: the plugin host: loads built-ins, entry points and local plugins; calls hooks in isolation.
- ``guard``: running plugin code under guard: stdout kept clean, exits and Ctrl-C told apart, time and
  memory limits, secrets redacted from what plugins say.
- ``variants``: which candidates and deployment variants (quant x hardware) are assessed.
- ``model_source``: what a MODEL argument names (catalog id, Hub repo, config.json, .gguf).
- ``sizing``: one variant on one machine: footprint, fit and speed (memoised per architecture).
- ``deployment_sizing``: the one deployment of a self-hosted variant that LAT001, COST001 and the plan all
  judge: engine, checkpoint, replica shape (TP x PP), replicas for the peak, per-stream speed.
- ``fit_questions``: the inverse questions: the best quant, the longest context, the hardware that fits.
- ``licensing``: licence lineage along ``base_model``.
- ``misses``: when nothing passes, the nearest misses and the one change that would admit each.
- ``economics``: cost per road, the comparable API, break-even and payback: the strategy plugin,
  ``advisor cost`` and the HTML report all read it here.
- ``evaluation_design``: which models to evaluate first: pools (leaderboard, catalog, a file), the
  design's payload with its held-out check, and the plan's "evaluate these first" section.

The maths itself is pure and lives in :mod:`advisor.estimate`; the engine feeds it catalog data.
"""
