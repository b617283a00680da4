"""``advisor bench``: load-test an OpenAI-compatible endpoint and hold it to the plan (docs/bench.md).

Map:

* :mod:`~advisor.bench.client` — one streaming request over the standard library's HTTP client
  (bounded reads: the endpoint is untrusted), and the endpoint's model list;
* :mod:`~advisor.bench.stats` — pure numbers: percentiles, per-run summaries, goodput;
* :mod:`~advisor.bench.run` — the sweep: concurrency levels, worker threads, time caps, progress;
* :mod:`~advisor.bench.predict` — the planner's capacity estimate for the model on its hardware;
* :mod:`~advisor.bench.store` — the ``bench_runs`` table beside the smoke history.

Nothing is re-exported here: import from the module that does the job.
"""
