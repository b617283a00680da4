"""One sizing of a self-hosted deployment per candidate, read by every check and by the plan.

Which engine serves the variant, on which checkpoint and replica shape (TP x PP on nodes), how many
replicas the peak needs and what speed each stream then gets. LAT001 (is each stream fast enough?),
COST001 (what do the replicas cost?), the economics built on COST001, and the deployment plan (what to
run) all read this one result, so they judge the same deployment (issue 15). Before it, LAT001 sized
the whole machine as one llama.cpp layer split and COST001 the fewest devices with fixed batching
constants, while the plan ran vLLM: three different deployments.

- **llama.cpp** (CPU, Apple silicon, partial offload, or one GPU with few streams): the variant's fit
  and single-stream speed (:mod:`advisor.engine.sizing`); a replica batches its slots as the stated
  planning assumption ``batching`` of catalog/estimator_constants.yaml; on own hardware with several
  accelerators the fewest that hold the model form one replica.
- **vLLM / SGLang** (CUDA or ROCm GPUs holding the model, with several GPUs, several replicas or more
  streams than llama.cpp serves well): the checkpoint that exists (:func:`advisor.serving.server_checkpoint`),
  every replica shape that holds it (TP a power of two inside a node dividing the attention heads, or TP
  = a whole node x PP nodes on own multi-node hardware), and for each shape the most concurrent streams
  whose per-stream speed keeps the latency bar (:mod:`advisor.estimate.serving`). The replicas cover
  both the peak concurrency at that stream limit and the peak request rate at ``max_utilisation``
  (catalog/cost_constants.yaml; a stated ``traffic.peak_concurrency`` is the peak itself, a closed loop,
  so then the rate to sustain is the day's average); the shape that leaves the fewest GPUs short, then needs the fewest
  GPUs, then the fewest per replica, is chosen. No shape meeting the bar means LAT001 fails, judged on
  the fastest shape at one stream.

On own hardware every replica the machines hold runs (``running_replicas``) and each carries its share
of the peak; rented, the replicas the peak needs run. Computed once per candidate and answers
(memoised on the catalog).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from advisor.catalog.loader import Catalog
from advisor.catalog.planning import planning_defaults
from advisor.catalog.records import ArchitectureConfig, ModelRecord
from advisor.engine.sizing import Sizing, size_candidate
from advisor.estimate.constants import estimator_constants
from advisor.estimate.cost import (
    ReplicaCapacity,
    peak_requests_per_s,
    replica_capacity,
    replicas_for_load,
    streams_per_replica,
)
from advisor.estimate.cost_constants import CostSettings, cost_settings
from advisor.estimate.serving import ServingCapacity, Topology, Workload, device_capacity, serving_constants
from advisor.model.candidate import Candidate
from advisor.model.requirements import Requirements
from advisor.serving import (
    Checkpoint,
    native_bytes_per_param,
    native_format,
    quantizes_experts_only,
    server_checkpoint,
)

#: Above this many concurrent streams a single GPU is better served by a batching server.
LLAMA_CPP_MAX_STREAMS = 8
#: One node of data-centre GPUs holds at most this many (HGX/DGX and MI300X platforms: 8).
GPUS_PER_NODE = 8
#: Tensor-parallel sizes: powers of two dividing a node (attention heads and NVLink domains split that way).
TP_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True)
class DeploymentSizing:
    """The deployment one candidate would run, sized once (every figure an estimate).

    ``replicas`` is what the peak needs; ``owned_replicas`` what own hardware holds in this shape (None
    when renting); ``stream_limit`` the most streams a replica carries at the latency bar;
    ``streams_per_replica`` the streams each running replica carries at the peak, and
    ``per_stream_tokens_per_s`` / ``output_tokens_per_s`` its speed there. ``capacity`` is the replica's
    request rate and service time as COST001 prices them; ``demand_requests_per_s`` the request rate the
    replicas must sustain, ``peak_to_average`` its ratio to the day's average (1 when it is the average);
    ``floor_replicas`` what the day's average needs (an autoscaler's minimum; own hardware: all it holds).
    ``checkpoint``, ``topology`` (DP = the running replicas) and ``serving`` are set for vLLM/SGLang only.
    """

    engine: str
    sizing: Sizing
    devices_per_replica: int
    replicas: int
    owned_replicas: int | None
    stream_limit: int
    streams_per_replica: int
    per_stream_tokens_per_s: float
    single_stream_tokens_per_s: float
    output_tokens_per_s: float
    meets_latency: bool
    capacity: ReplicaCapacity
    demand_requests_per_s: float
    peak_to_average: float
    floor_replicas: int
    checkpoint: Checkpoint | None = None
    topology: Topology | None = None
    serving: ServingCapacity | None = None
    assumptions: tuple[str, ...] = ()

    @property
    def running_replicas(self) -> int:
        """Replicas that run: every one own hardware holds, else the ones the peak needs."""
        return self.owned_replicas if self.owned_replicas is not None else self.replicas

    @property
    def nodes(self) -> int:
        """Machines the running replicas occupy (one per replica when rented)."""
        if self.topology is None:
            return 1
        return self.topology.nodes


def size_deployment(candidate: Candidate, requirements: Requirements, catalog: Catalog) -> DeploymentSizing | None:
    """The deployment of an open-weights variant for these answers; None when it cannot be sized or does not fit.

    Memoised on the catalog: LAT001, COST001 and the deployment plan ask for the same one.
    """
    stated = tuple(sorted(requirements.traffic.model_fields_set))
    key = (
        "deployment",
        candidate.key,
        candidate.params,
        candidate.host_ram_gib,
        requirements.model_dump_json(),
        stated,
    )
    if key not in catalog.derived:
        catalog.derived[key] = _size_deployment(candidate, requirements, catalog)
    return catalog.derived[key]  # type: ignore[return-value]


def server_engine(requirements: Requirements) -> str:
    """SGLang for agents (prefix reuse over multi-turn calls, constrained tool-call JSON), else vLLM."""
    return "sglang" if requirements.use_case == "agent" else "vllm"


def checkpoint_for(candidate: Candidate, catalog: Catalog) -> Checkpoint | None:
    """The checkpoint a GPU server loads for this variant (a repository that exists; docs/serving.md §4)."""
    if candidate.quant is None:
        return None
    model = catalog.models.get(candidate.id)
    arch = model.architecture if model is not None else candidate.architecture  # a Hub model: its config
    return checkpoint_of(candidate.id, candidate.quant, model, arch)


def checkpoint_of(repo_id: str, quant: str, record: ModelRecord | None, arch: ArchitectureConfig | None) -> Checkpoint:
    """The checkpoint for a GGUF quant level of a model (its catalog record's releases, its config's shipped
    format): the one place ``advisor plan``, ``fit --engine`` and ``bench --engine`` choose it."""
    releases = [(r.format, r.repo) for r in record.quantized_releases] if record is not None else []
    extra = dict(arch.model_extra or {}) if arch is not None else {}
    server = planning_defaults().server_quantization(quant)
    native = native_format(extra)
    return server_checkpoint(
        repo_id, server, releases, native, quantizes_experts_only(extra), native_bytes_per_param(extra, native)
    )


def _size_deployment(candidate: Candidate, requirements: Requirements, catalog: Catalog) -> DeploymentSizing | None:
    sizing = size_candidate(candidate, catalog, requirements.context_tokens)
    if sizing is None or sizing.fit.fits == "no" or not sizing.fit.decode_tokens_per_s:
        return None
    settings = cost_settings(requirements.plugins)
    local = _llama_cpp(candidate, requirements, catalog, sizing, settings)
    record = sizing.device
    gpu_server = (
        sizing.fit.fits == "gpu" and record is not None and record.kind == "gpu" and record.backend in {"cuda", "rocm"}
    )
    several = (candidate.hardware_count or 1) > 1 or local.replicas > 1
    if gpu_server and (several or requirements.traffic.peak_concurrency > LLAMA_CPP_MAX_STREAMS):
        served = _server(candidate, requirements, catalog, sizing, settings)
        if served is not None:
            return served
    return local


def _floor(owned: int | None, needed: int, requests_per_day: float, capacity: ReplicaCapacity) -> int:
    """Replicas the day's average rate needs (at the replica's utilisation cap), at most the peak's; own
    hardware runs every replica it holds."""
    if owned is not None:
        return owned
    average = requests_per_day / 86_400
    by_rate = math.ceil(average / capacity.requests_per_s) if capacity.requests_per_s > 0 else needed
    return max(1, min(needed, by_rate))


# ------------------------------------------------------------------------------------------------ llama.cpp


def _llama_group(
    candidate: Candidate, sizing: Sizing, requirements: Requirements, catalog: Catalog
) -> tuple[int, Sizing, int]:
    """Own hardware with several accelerators: the fewest that hold the model form one replica (two 80 GB
    GPUs serve a 14B model as two replicas). Returns devices per replica, their sizing, replicas held."""
    count = candidate.hardware_count or 1
    record = sizing.device
    if not requirements.on_hand_hardware or count == 1 or record is None or record.kind == "cpu":
        return count, sizing, 1
    for devices in range(1, count):
        if count % devices:
            continue
        smaller = size_candidate(
            candidate.model_copy(update={"hardware_count": devices}), catalog, requirements.context_tokens
        )
        if smaller is not None and smaller.fit.fits == "gpu" and smaller.fit.decode_tokens_per_s:
            return devices, smaller, count // devices
    return count, sizing, 1


def _llama_cpp(
    candidate: Candidate, requirements: Requirements, catalog: Catalog, sizing: Sizing, settings: CostSettings
) -> DeploymentSizing:
    traffic = requirements.traffic
    devices, group, held = _llama_group(candidate, sizing, requirements, catalog)
    decode = group.fit.decode_tokens_per_s or 0.0
    batching = estimator_constants().batching
    # a loaded replica fills its batch; one user on their own machine never batches
    streams = batching.max_streams if traffic.peak_concurrency > 1 else 1
    capacity = replica_capacity(
        decode,
        group.fit.prefill_tokens_per_s,
        traffic.input_tokens,
        traffic.output_tokens,
        streams,
        batching.max_streams,
        batching.per_stream_share,
        settings.constants.max_utilisation,
    )
    bar = requirements.latency.min_tokens_per_s
    slots = streams_per_replica(capacity.decode_tokens_per_s, batching.max_streams, bar)
    peak_rps = peak_requests_per_s(traffic.requests_per_day, settings.peak_to_average)
    replicas = replicas_for_load(peak_rps, capacity, traffic.peak_concurrency, slots)
    owned = held if requirements.on_hand_hardware else None
    where = f"{devices}× {group.device.id}" if group.device is not None else "CPU"
    assumptions = (
        f"llama.cpp: single-stream decode {decode:.1f} tokens/s on {where} (hardware-fit estimate); "
        f"{streams} concurrent streams batch to {capacity.decode_tokens_per_s:,.0f} tokens/s "
        f"(gain {capacity.batching_gain:.1f}× = min(streams, {batching.max_streams}) × {batching.per_stream_share:g}; "
        "planning assumption)",
    )
    return DeploymentSizing(
        engine="llama.cpp",
        sizing=group,
        devices_per_replica=devices,
        replicas=replicas,
        owned_replicas=owned,
        stream_limit=slots,
        streams_per_replica=min(slots, max(1, math.ceil(traffic.peak_concurrency / max(replicas, owned or 1)))),
        per_stream_tokens_per_s=decode,
        single_stream_tokens_per_s=decode,
        output_tokens_per_s=capacity.decode_tokens_per_s,
        meets_latency=decode >= bar,
        capacity=capacity,
        demand_requests_per_s=peak_rps,
        peak_to_average=settings.peak_to_average,
        floor_replicas=_floor(owned, replicas, traffic.requests_per_day, capacity),
        assumptions=assumptions,
    )


# ------------------------------------------------------------------------------------------------ vLLM / SGLang


@dataclass(frozen=True)
class _Shape:
    """One replica shape and what it gives: its stream limit at the bar and the replicas the peak needs."""

    topology: Topology
    limit: int
    at_limit: ServingCapacity
    single: ServingCapacity
    capacity: ReplicaCapacity
    needed: int
    owned: int | None

    @property
    def gpus(self) -> int:
        return self.topology.gpus_per_replica

    def rank(self) -> tuple[int, int, int, int]:
        short = max(0, self.needed - self.owned) * self.gpus if self.owned is not None else 0
        return (0 if self.limit > 0 else 1, short, self.needed * self.gpus, self.gpus)


def _shapes(per_node: int, nodes: int | None, heads: int) -> list[Topology]:
    """Replica shapes: TP inside a node (dividing the node and the heads); on own multi-node hardware, TP =
    the node x PP nodes. Rented (``nodes`` None) replicas stay inside one instance of at most a node."""
    shapes = [Topology(tp, 1, 1, per_node) for tp in TP_SIZES if tp <= per_node and per_node % tp == 0]
    shapes = [s for s in shapes if heads <= 0 or heads % s.tensor_parallel == 0]
    if nodes is not None and shapes:
        tp = shapes[-1].tensor_parallel
        if tp == per_node:
            shapes += [Topology(tp, pp, 1, per_node) for pp in range(2, nodes + 1)]
    return shapes


def _owned_replicas(shape: Topology, count: int, per_node: int) -> int:
    """Replicas of this shape that ``count`` own GPUs in nodes of ``per_node`` hold (a replica never straddles
    nodes unless it is a whole-node pipeline)."""
    full, rest = divmod(count, per_node)
    if shape.gpus_per_replica <= per_node:
        return full * (per_node // shape.gpus_per_replica) + rest // shape.gpus_per_replica
    return full // shape.pipeline_parallel


def _server(
    candidate: Candidate, requirements: Requirements, catalog: Catalog, sizing: Sizing, settings: CostSettings
) -> DeploymentSizing | None:
    arch, device = candidate.architecture, sizing.device
    params = float(candidate.params or 0)
    ckpt = checkpoint_for(candidate, catalog)
    if arch is None or device is None or not params or ckpt is None:
        return None
    engine = server_engine(requirements)
    traffic = requirements.traffic
    prompt, output = max(1, traffic.input_tokens), max(1, traffic.output_tokens)
    active = float(candidate.active_params or params)
    bar = requirements.latency.min_tokens_per_s
    # a stated peak concurrency is the peak (a closed loop: that many requests in flight, as the serving
    # model and benchmark_serving --max-concurrency measure it; the rate they generate follows from it), and
    # the day's volume must be sustained; without one, the peak rate is the average x peak_to_average
    ratio = 1.0 if "peak_concurrency" in traffic.model_fields_set else settings.peak_to_average
    demand = peak_requests_per_s(traffic.requests_per_day, ratio)
    utilisation = settings.constants.max_utilisation
    on_hand = bool(requirements.on_hand_hardware)
    count = candidate.hardware_count or 1
    per_node = min(count, GPUS_PER_NODE) if on_hand else GPUS_PER_NODE
    nodes = math.ceil(count / per_node) if on_hand else None

    def at(shape: Topology, concurrency: int) -> ServingCapacity:
        load = Workload(prompt, output, concurrency)
        return device_capacity(
            arch, params, active, ckpt.format, device, engine, shape, load, ckpt.experts_only, ckpt.bytes_per_param
        )

    shapes: list[_Shape] = []
    for shape in _shapes(per_node, nodes, arch.num_attention_heads or 0):
        owned = _owned_replicas(shape, count, per_node) if on_hand else None
        if owned == 0:
            continue
        try:
            single = at(shape, 1)
        except ValueError:
            continue  # the checkpoint does not fit this shape (or the device lacks the figures)
        limit = _stream_limit(lambda c, s=shape: at(s, c), single, bar)  # type: ignore[misc]
        at_limit = at(shape, limit) if limit > 0 else single
        streams = max(limit, 1)
        raw_rate = at_limit.output_tokens_per_s / output
        capacity = ReplicaCapacity(
            requests_per_s=raw_rate * utilisation,
            decode_tokens_per_s=at_limit.output_tokens_per_s,
            prefill_tokens_per_s=prompt / at_limit.prefill_s if at_limit.prefill_s > 0 else None,
            service_s=1.0 / raw_rate if raw_rate > 0 else math.inf,
            batching_gain=at_limit.output_tokens_per_s / max(single.output_tokens_per_s, 1e-9),
            streams=streams,
        )
        needed = replicas_for_load(demand, capacity, traffic.peak_concurrency, streams)
        shapes.append(_Shape(shape, limit, at_limit, single, capacity, needed, owned))
    if not shapes:
        return None
    meeting = [s for s in shapes if s.limit > 0]
    best = min(meeting, key=_Shape.rank) if meeting else max(shapes, key=lambda s: s.single.per_stream_tokens_per_s)
    running = best.owned if best.owned is not None else best.needed
    share = max(1, math.ceil(traffic.peak_concurrency / max(running, best.needed)))
    if best.limit > 0:
        share = min(share, best.limit)
    operating = at(best.topology, share)
    gpus_per_node = per_node if on_hand else min(best.gpus, GPUS_PER_NODE)
    topology = Topology(best.topology.tensor_parallel, best.topology.pipeline_parallel, running, gpus_per_node)
    flag = serving_constants().engines[engine].memory_fraction_flag
    tried = ", ".join(
        f"TP{s.topology.tensor_parallel}"
        + (f"xPP{s.topology.pipeline_parallel}" if s.topology.pipeline_parallel > 1 else "")
        + f": {s.limit} streams, {s.needed} replica(s)"
        for s in shapes
    )
    assumptions = (
        f"{engine} on {ckpt.repo} ({ckpt.format}): continuous batching, TP{topology.tensor_parallel}"
        + (f" x PP{topology.pipeline_parallel}" if topology.pipeline_parallel > 1 else "")
        + f" per replica on {device.id}; a replica keeps {bar:g} tokens/s per stream up to {best.limit} concurrent "
        f"{prompt}-in/{output}-out requests ({best.at_limit.output_tokens_per_s:,.0f} output tokens/s), "
        f"KV cache at the engine's {flag} (serving-model estimate, docs/serving.md)",
        f"replica shapes that hold the checkpoint: {tried}; the one needing the fewest GPUs for the peak is chosen",
    )
    return DeploymentSizing(
        engine=engine,
        sizing=sizing,
        devices_per_replica=best.gpus,
        replicas=best.needed,
        owned_replicas=best.owned,
        stream_limit=max(best.limit, 1),
        streams_per_replica=share,
        per_stream_tokens_per_s=operating.per_stream_tokens_per_s,
        single_stream_tokens_per_s=best.single.per_stream_tokens_per_s,
        output_tokens_per_s=operating.output_tokens_per_s,
        meets_latency=best.limit > 0,
        capacity=best.capacity,
        demand_requests_per_s=demand,
        peak_to_average=ratio,
        floor_replicas=_floor(best.owned, best.needed, traffic.requests_per_day, best.capacity),
        checkpoint=ckpt,
        topology=topology,
        serving=operating,
        assumptions=assumptions,
    )


def _stream_limit(capacity_at: Callable[[int], ServingCapacity], single: ServingCapacity, bar: float) -> int:
    """The largest concurrency whose per-stream speed keeps ``bar`` (0: not even one stream); per-stream
    speed falls as concurrency rises, so a bisection over ``1..max_concurrency`` finds it."""
    if single.per_stream_tokens_per_s < bar:
        return 0
    low, high = 1, max(1, single.max_concurrency)
    while low < high:
        mid = (low + high + 1) // 2
        if capacity_at(mid).per_stream_tokens_per_s >= bar:
            low = mid
        else:
            high = mid - 1
    return low
