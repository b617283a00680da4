"""Which checkpoint a vLLM/SGLang server loads: one that exists, never a guessed repository name.

A GGUF quant level maps to a server format (catalog/planning.yaml ``server_quantization``: ``awq`` for
4-bit, ``fp8`` for 8-bit, none for 16-bit). The checkpoint is then, in order: the model's own repository
when it already ships in that format (gpt-oss in MXFP4, DeepSeek-V3 in FP8: served as is, no
``--quantization``); the publisher's own release in the catalog's ``quantized_releases``; the model's own
repository in its shipped format; for 8-bit, the BF16 repository quantized by the engine as it loads
(``--quantization fp8``, vLLM's and SGLang's online FP8); for 4-bit, the BF16 repository with an
llm-compressor recipe to quantize it.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.estimate.serving import FORMAT_BYTES

#: The publisher formats a GGUF quant level is served as on vLLM/SGLang, best first.
SERVER_FORMATS = {"4bit": ("MXFP4", "AWQ", "GPTQ-INT4", "GPTQ", "INT4"), "8bit": ("FP8", "INT8", "GPTQ-INT8")}
#: Where llm-compressor writes a quantized checkpoint (the plan serves it from there).
QUANTIZED_DIR = "/models"


@dataclass(frozen=True)
class Checkpoint:
    """What a GPU server loads: a repository that exists (the model's own or a publisher release);
    ``quantize_to`` and ``scheme`` name the llm-compressor output when the publisher ships no build."""

    repo: str
    format: str
    bytes_per_param: float
    quantize_to: str | None
    notes: list[str]
    scheme: str | None = None
    #: Only the routed experts are in ``format``; attention, shared experts, embeddings and head stay BF16
    #: (gpt-oss's MXFP4, Kimi-K2-Thinking's INT4): the weights are sized so (FORMAT_BYTES is per expert weight).
    experts_only: bool = False
    #: The engine's own load-time quantization of the 16-bit ``repo`` (``fp8``: ``--quantization fp8``).
    online_quantization: str | None = None


def native_format(arch_extra: dict[str, object]) -> str:
    """The format the model's own repository ships (quantization_config of its config.json).

    ``compressed-tensors`` (llm-compressor's format, e.g. Kimi-K2-Thinking's INT4 experts) says its precision in
    ``config_groups.<group>.weights``: ``num_bits`` 4 is INT4, 8 with ``type: float`` FP8, 8 with ``int`` INT8;
    anything else is read as BF16 (sized at 16 bits: never smaller than the checkpoint).
    """
    config = arch_extra.get("quantization_config")
    method = str(config.get("quant_method", "")).upper() if isinstance(config, dict) else ""
    if method == "COMPRESSED-TENSORS" and isinstance(config, dict):
        return _compressed_tensors_format(config)
    return method if method in FORMAT_BYTES else "BF16"


def quantizes_experts_only(arch_extra: dict[str, object]) -> bool:
    """Whether the shipped quantization leaves attention unconverted (so, in a MoE, quantizes the routed experts
    and little else): its ``modules_to_not_convert`` (transformers' MXFP4 config) or ``ignore`` (compressed-tensors)
    names attention modules."""
    config = arch_extra.get("quantization_config")
    if not isinstance(config, dict):
        return False
    kept = [*_names(config.get("modules_to_not_convert")), *_names(config.get("ignore"))]
    return any("attn" in name for name in kept)


def _names(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def native_bytes_per_param(arch_extra: dict[str, object], fmt: str) -> float:
    """Bytes per quantized weight of the shipped checkpoint: FORMAT_BYTES, except a compressed-tensors 4-bit
    checkpoint that states its group size pays one BF16 scale per group (group 32: 4.5 bits, Kimi-K2-Thinking's
    594 GB; group 128: 4.125 bits)."""
    config = arch_extra.get("quantization_config")
    groups = config.get("config_groups") if isinstance(config, dict) else None
    sizes = set()
    for group in groups.values() if isinstance(groups, dict) else ():
        weights = group.get("weights") if isinstance(group, dict) else None
        size = weights.get("group_size") if isinstance(weights, dict) else None
        if isinstance(size, int) and size > 0:
            sizes.add(size)
    if fmt == "INT4" and len(sizes) == 1:
        return 0.5 + 2.0 / sizes.pop()
    return FORMAT_BYTES[fmt]


def _compressed_tensors_format(config: dict[object, object]) -> str:
    groups = config.get("config_groups")
    formats = set()
    for group in groups.values() if isinstance(groups, dict) else ():
        weights = group.get("weights") if isinstance(group, dict) else None
        if not isinstance(weights, dict):
            continue
        bits, kind = weights.get("num_bits"), str(weights.get("type", "int")).lower()
        # 4-bit float (NVFP4, FP8 scales per 16) has no format here: read as BF16, never sized smaller than it is
        int4 = bits == 4 and kind == "int"
        formats.add("INT4" if int4 else "FP8" if bits == 8 and kind == "float" else "INT8" if bits == 8 else "")
    return formats.pop() if len(formats) == 1 and "" not in formats else "BF16"


def server_checkpoint(
    repo_id: str,
    server: str | None,
    releases: list[tuple[str, str]],
    native: str,
    experts_only: bool = False,
    native_bytes: float | None = None,
) -> Checkpoint:
    """The checkpoint for a server format (``server``: ``awq``, ``fp8`` or None, from planning.yaml's
    ``server_quantization`` of the GGUF quant): the model as shipped, the publisher's own release, the BF16
    repository quantized to FP8 by the engine as it loads (8-bit), or the BF16 repository with an
    llm-compressor recipe (4-bit); never a guessed repository name (issue 15)."""
    wanted = SERVER_FORMATS["4bit" if server == "awq" else "8bit"] if server else ()
    shipped = native_bytes if native_bytes is not None else FORMAT_BYTES[native]
    as_is = Checkpoint(repo_id, native, shipped, None, [])
    if native != "BF16":
        note = f"{repo_id} ships in {native}" + (" (routed experts; the rest in BF16)" if experts_only else "")
        as_is = Checkpoint(repo_id, native, shipped, None, [f"{note}: served as is"], None, experts_only)
    if native in wanted or native == "MXFP4" or not wanted:
        return as_is
    by_format = {fmt.upper(): repo for fmt, repo in releases}
    for fmt in wanted:
        if fmt in by_format:
            note = f"{by_format[fmt]}: the publisher's own {fmt} build of {repo_id} (catalog quantized_releases)"
            return Checkpoint(by_format[fmt], fmt, FORMAT_BYTES[fmt], None, [note])
    if native != "BF16":
        return as_is
    if server == "fp8":
        note = (
            f"the publisher ships no 8-bit build of {repo_id}: the engine quantizes the BF16 weights to FP8 as it "
            "loads them (--quantization fp8: dynamic scales, no calibration data; on GPUs without FP8 tensor cores, "
            "such as the A100, vLLM runs it weight-only; docs.vllm.ai features/quantization/fp8, read 2026-12-05)"
        )
        return Checkpoint(repo_id, "FP8", FORMAT_BYTES["FP8"], None, [note], online_quantization="fp8")
    scheme = "W4A16"
    local = f"{QUANTIZED_DIR}/{repo_id.split('/')[-1]}-{scheme}"
    note = (
        f"the publisher ships no {'/'.join(wanted)} build of {repo_id}: served in BF16 as published (sized so); "
        f"to cut the weights to {FORMAT_BYTES['AWQ']:g} bytes/parameter, quantize once "
        f"with llm-compressor (quantize-{scheme.lower()}.py in the artifacts) into {local} and "
        f"serve that directory with --served-model-name {repo_id}"
    )
    return Checkpoint(repo_id, "BF16", FORMAT_BYTES["BF16"], local, [note], scheme)


def llm_compressor_recipe(repo_id: str, local: str, scheme: str) -> str:
    """A short llm-compressor script (docs.vllm.ai "Quantization", llm-compressor README, read 2026-12-05)."""
    return (
        f'"""Quantize {repo_id} to {scheme} with llm-compressor (pip install llmcompressor), output {local}."""\n'
        "from llmcompressor import oneshot\n"
        "from llmcompressor.modifiers.quantization import QuantizationModifier\n\n"
        f'recipe = QuantizationModifier(targets="Linear", scheme="{scheme}", ignore=["lm_head"])\n'
        + (
            f'oneshot(model="{repo_id}", dataset="open_platypus", recipe=recipe, output_dir="{local}",\n'
            "        max_seq_length=2048, num_calibration_samples=512)\n"
            if scheme == "W4A16"
            else f'oneshot(model="{repo_id}", recipe=recipe, output_dir="{local}")\n'
        )
    )
