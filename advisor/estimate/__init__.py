"""Pure estimators (weights, memory, fit, speed, cost, quality, scaling): public API for plugins.

Every function here is pure: numbers in, numbers out, no I/O. The packaged constants they are
parameterised by are read and validated by :mod:`advisor.catalog.tables`, never here. Plugins call
these and turn the numbers into findings.

Modules: ``tensors`` (tensor inventory per architecture), ``weights`` (per-tensor quantized sizes),
``footprint`` (weights + KV cache + overhead), ``memory`` (KV cache and buffers), ``fit`` (placement
on devices), ``speed`` (decode and prefill), ``serving`` (capacity of vLLM/SGLang under continuous
batching on TP x PP x DP GPUs: tokens/s against concurrency, TTFT, TPOT, KV-bound concurrency),
``cost`` (API, self-hosting, building), ``quality`` (expected quality and quantization loss),
``benchmark_scale`` (one scale for every benchmark: the latent fit that imputes the scores a model
does not publish),
``scaling`` (capability boundaries), ``design`` (which models to evaluate first: the balanced
I-optimal design), ``constants``, ``cost_constants``,
``design_policy`` (the schemas of the packaged constants), ``units`` (numbers in words for messages:
``45.6 billion``, never ``4.56e10``).
"""
