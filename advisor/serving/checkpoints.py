"""Which checkpoint a vLLM/SGLang server loads: one that exists, never a guessed repository name.

A GGUF quant level maps to a server format (catalog/planning.yaml ``server_quantization``: ``awq`` for
4-bit, ``fp8`` for 8-bit, none for 16-bit). The checkpoint is then, in order: the model's own repository
when it already ships in that format (gpt-oss in MXFP4, DeepSeek-V3 in FP8: served as is, no
``--quantization``); the publisher's own release in the catalog's ``quantized_releases``; the model's own
repository in its shipped format; or the BF16 repository with an llm-compressor recipe to quantize it.
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


def native_format(arch_extra: dict[str, object]) -> str:
    """The format the model's own repository ships (quantization_config of its config.json)."""
    config = arch_extra.get("quantization_config")
    method = str(config.get("quant_method", "")).upper() if isinstance(config, dict) else ""
    return method if method in FORMAT_BYTES else "BF16"


def server_checkpoint(repo_id: str, server: str | None, releases: list[tuple[str, str]], native: str) -> Checkpoint:
    """The checkpoint for a server format (``server``: ``awq``, ``fp8`` or None, from planning.yaml's
    ``server_quantization`` of the GGUF quant): the model as shipped, the publisher's own release, or the
    BF16 repository with an llm-compressor recipe; never a guessed repository name (issue 15)."""
    wanted = SERVER_FORMATS["4bit" if server == "awq" else "8bit"] if server else ()
    as_is = Checkpoint(repo_id, native, FORMAT_BYTES[native], None, [])
    if native != "BF16":
        as_is = Checkpoint(repo_id, native, FORMAT_BYTES[native], None, [f"{repo_id} ships in {native}: served as is"])
    if native in wanted or native == "MXFP4" or not wanted:
        return as_is
    by_format = {fmt.upper(): repo for fmt, repo in releases}
    for fmt in wanted:
        if fmt in by_format:
            note = f"{by_format[fmt]}: the publisher's own {fmt} build of {repo_id} (catalog quantized_releases)"
            return Checkpoint(by_format[fmt], fmt, FORMAT_BYTES[fmt], None, [note])
    if native != "BF16":
        return as_is
    scheme = "W4A16" if server == "awq" else "FP8_DYNAMIC"
    local = f"{QUANTIZED_DIR}/{repo_id.split('/')[-1]}-{scheme}"
    note = (
        f"the publisher ships no {'/'.join(wanted)} build of {repo_id}: served in BF16 as published (sized so); "
        f"to cut the weights to {FORMAT_BYTES['AWQ' if server == 'awq' else 'FP8']:g} bytes/parameter, quantize once "
        f"with llm-compressor (quantize-{scheme.lower().replace('_', '-')}.py in the artifacts) into {local} and "
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
