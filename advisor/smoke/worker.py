"""The smoke test's worker: loads a GGUF with llama.cpp and measures it, in its own process.

Run as ``python -P -m advisor.smoke.worker REQUEST.json`` by :mod:`advisor.smoke.runner`, never by hand.
Native code reading an untrusted model file can crash, hang or exhaust memory; in a child process
none of that can take the CLI down, and the parent measures the child's peak RSS from outside.

Protocol (files, not pipes, so llama.cpp's own output can never corrupt it): the request JSON names
``result_path`` and ``progress_path``. The worker appends one JSON line per phase to the progress
file (so the parent can say *where* a crash or hang happened) and writes the result JSON
atomically at the end. Exit status 0 with a result, 3 when llama-cpp-python is missing, 2 for
a bad request; anything else (a signal, another code) is a crash the parent reports.

The worker never outlives the CLI: the request names ``lifeline_fd``, the read end of a pipe whose
write end only the CLI holds. A thread blocks reading it; end of file means the CLI is gone (even
by SIGKILL, which leaves it no chance to clean up), and the worker removes its temp directory and
kills its own process group at once, whatever llama.cpp is doing (ctypes calls release the GIL).

Test hook: ``ADVISOR_SMOKE_FAULT=KIND[@PHASE]`` makes the worker fail on purpose at ``PHASE``
(``start``, ``load``, ``prompt``, ``chat``, ``done``; default ``start``) so the crash paths are tested for
real: ``segfault`` (a genuine SIGSEGV), ``abort``, ``hang`` (sleeps), ``oom`` (SIGKILL, as the
kernel's OOM killer sends), ``exit`` (exit code 42).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_BAD_REQUEST = 2
EXIT_NO_BACKEND = 3
FAULT_ENV = "ADVISOR_SMOKE_FAULT"
#: The runner's temp directories start with this; the worker removes nothing else.
WORKDIR_PREFIX = "advisor-smoke-"

#: llama.cpp's default sampler chain settings (common/common.h), seeded, so the decode timing
#: includes the sampling work a real chat does.
SAMPLING = {"temp": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}


def peak_rss_bytes() -> int | None:
    """This process's peak resident set so far (VmHWM), or None where /proc is not there."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except (ImportError, OSError):
        return None


class Worker:
    """One smoke run inside the worker process."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.progress_path = Path(request["progress_path"])
        self.result_path = Path(request["result_path"])
        fault = os.environ.get(FAULT_ENV, "")
        kind, _, phase = fault.partition("@")
        self.fault_kind = kind.strip()
        self.fault_phase = phase.strip() or "start"

    def phase(self, name: str, **data: Any) -> None:
        """Record that a phase started (for the parent's crash and timeout messages)."""
        line = json.dumps({"phase": name, "t": time.time(), "rss_bytes": peak_rss_bytes(), **data})
        with self.progress_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if self.fault_kind and name == self.fault_phase:
            self._fail_on_purpose()

    def _fail_on_purpose(self) -> None:
        kind = self.fault_kind
        if kind == "segfault":
            ctypes.string_at(0)  # a real invalid read: SIGSEGV
        elif kind == "abort":
            os.abort()
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "oom":
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "exit":
            os._exit(42)

    def write_result(self, result: dict[str, Any]) -> None:
        tmp = self.result_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        os.replace(tmp, self.result_path)

    def run(self) -> int:
        self.phase("start")
        try:
            import llama_cpp
        except ImportError as exc:
            self.write_result(
                {"ok": False, "error_kind": "backend_missing", "error": f"cannot import llama_cpp: {exc}"}
            )
            return EXIT_NO_BACKEND
        except OSError as exc:  # the shared library is there but cannot be loaded
            self.write_result({"ok": False, "error_kind": "backend_missing", "error": f"llama.cpp library: {exc}"})
            return EXIT_NO_BACKEND
        baseline = peak_rss_bytes()
        req = self.request
        self.phase("load", baseline_rss_bytes=baseline)
        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=req["model_path"],
                n_ctx=int(req["context"]),
                n_threads=int(req["threads"]),
                n_threads_batch=int(req["threads"]),
                n_gpu_layers=int(req["gpu_layers"]),
                seed=int(req["seed"]),
                use_mmap=bool(req.get("use_mmap", True)),
                swa_full=False,  # llama-server's default: sliding-window layers cache only their window
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            self.write_result({"ok": False, "error_kind": "load_failed", "error": f"llama.cpp could not load: {exc}"})
            return EXIT_OK
        load_s = time.perf_counter() - started
        vocab = llama_cpp.llama_model_get_vocab(llm.model)

        def is_eog(token: int) -> bool:
            return bool(llama_cpp.llama_vocab_is_eog(vocab, token))

        self.phase("prompt", load_s=load_s)
        try:
            prompt_tokens = llm.tokenize(str(req["prompt"]).encode("utf-8"), add_bos=True, special=False)
            if len(prompt_tokens) + int(req["max_tokens"]) > int(req["context"]):
                raise ValueError(
                    f"the prompt ({len(prompt_tokens)} tokens) plus --max-tokens {req['max_tokens']} "
                    f"exceed the context of {req['context']} tokens"
                )
            raw = self.generate(llm, llama_cpp, prompt_tokens, is_eog)
            chat = self.chat_turn(llm, llama_cpp, is_eog)
        except (ValueError, RuntimeError, MemoryError) as exc:
            self.write_result(
                {"ok": False, "error_kind": "generation_failed", "error": f"llama.cpp failed to generate: {exc}"}
            )
            return EXIT_OK
        self.phase("done")
        result = {
            "ok": True,
            "load_s": load_s,
            "baseline_rss_bytes": baseline,
            "peak_rss_self_bytes": peak_rss_bytes(),
            "gpu_offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "llama_cpp_version": getattr(llama_cpp, "__version__", None),
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
            **raw,
            "chat": chat,
        }
        self.write_result(result)
        return EXIT_OK

    def generate(self, llm: Any, llama_cpp: Any, tokens: list[int], is_eog: Any) -> dict[str, Any]:
        """Prompt then decode up to max_tokens, timing each token; llama.cpp's counters when it has them."""
        max_tokens = int(self.request["max_tokens"])
        llm.set_seed(int(self.request["seed"]))
        llama_cpp.llama_perf_context_reset(llm.ctx)
        out: list[int] = []
        stamps: list[float] = []
        stop_reason = "length"
        start = time.perf_counter()
        for token in llm.generate(tokens, reset=True, **SAMPLING):
            stamps.append(time.perf_counter())
            if is_eog(token):
                stop_reason = "eos"
                break
            out.append(token)
            if len(out) >= max_tokens:
                break
        perf = llama_cpp.llama_perf_context(llm.ctx)
        text = llm.detokenize(out).decode("utf-8", errors="replace")
        timings: dict[str, Any] = {
            "prompt_tokens": len(tokens),
            "completion_tokens": len(out),
            "output": text,
            "output_token_ids": out,
            "stop_reason": stop_reason,
            "ttft_s": stamps[0] - start if stamps else None,
            "decode_wall_tokens_per_s": (len(stamps) - 1) / (stamps[-1] - stamps[0])
            if len(stamps) > 1 and stamps[-1] > stamps[0]
            else None,
            "llama_perf": {
                "t_p_eval_ms": perf.t_p_eval_ms,
                "n_p_eval": perf.n_p_eval,
                "t_eval_ms": perf.t_eval_ms,
                "n_eval": perf.n_eval,
            },
        }
        return timings

    def chat_turn(self, llm: Any, llama_cpp: Any, is_eog: Any) -> dict[str, Any]:
        """One user turn rendered through the file's own chat template, in the sandbox."""
        template = self.request.get("chat_template")
        if not template:
            return {"skipped": "the file has no tokenizer.chat_template"}
        from advisor.smoke.chat_template import ChatTemplateError, render_chat

        self.phase("chat")
        bos_id, eos_id = llm.token_bos(), llm.token_eos()
        bos = llm.detokenize([bos_id], special=True).decode("utf-8", "replace") if bos_id >= 0 else ""
        eos = llm.detokenize([eos_id], special=True).decode("utf-8", "replace") if eos_id >= 0 else ""
        try:
            rendered = render_chat(
                template, [{"role": "user", "content": str(self.request["chat_prompt"])}], bos_token=bos, eos_token=eos
            )
        except ChatTemplateError as exc:
            return {"error": str(exc)}
        add_bos = not (bos and rendered.startswith(bos))
        tokens = llm.tokenize(rendered.encode("utf-8"), add_bos=add_bos, special=True)
        if len(tokens) + int(self.request["max_tokens"]) > int(self.request["context"]):
            raise ValueError(
                f"the chat turn ({len(tokens)} tokens) plus --max-tokens {self.request['max_tokens']} "
                f"exceed the context of {self.request['context']} tokens"
            )
        generated = self.generate(llm, llama_cpp, tokens, is_eog)
        return {"rendered_prompt": rendered[:2000], **generated}


def _end_with_parent(fd: int, workdir: str | None) -> None:
    """Block on the lifeline; at end of file (the CLI is gone) remove the workdir and end the group."""
    with contextlib.suppress(OSError):
        while os.read(fd, 1):
            pass
    if workdir and os.path.basename(os.path.normpath(workdir)).startswith(WORKDIR_PREFIX):
        shutil.rmtree(workdir, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)  # the worker leads its own session: itself and anything it started
    os._exit(1)


def watch_parent(request: dict[str, Any]) -> None:
    """Start the lifeline thread when the runner passed one (a worker run by hand has none)."""
    fd = request.get("lifeline_fd")
    if isinstance(fd, int) and not isinstance(fd, bool) and fd >= 0:
        workdir = request.get("workdir")
        threading.Thread(
            target=_end_with_parent,
            args=(fd, workdir if isinstance(workdir, str) else None),
            name="smoke-lifeline",
            daemon=True,
        ).start()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m advisor.smoke.worker REQUEST.json", file=sys.stderr)
        return EXIT_BAD_REQUEST
    try:
        request = json.loads(Path(args[0]).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"advisor.smoke.worker: cannot read the request {args[0]}: {exc}", file=sys.stderr)
        return EXIT_BAD_REQUEST
    if not isinstance(request, dict):
        print(f"advisor.smoke.worker: the request {args[0]} is not a JSON object", file=sys.stderr)
        return EXIT_BAD_REQUEST
    watch_parent(request)
    return Worker(request).run()


if __name__ == "__main__":
    sys.exit(main())
