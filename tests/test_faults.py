"""Faults at the edges (issue 19): a Hub that never answers, signals during ``advisor smoke``,
outputs that are not regular files, a full or broken stdout, an option value out of range.

Every case runs the real CLI in a subprocess with a timeout, so a hang fails the test instead of
hanging the suite, and asserts what an operator expects: one line on stderr, the documented exit
code (2 bad input, 3 environment), no traceback, no process and no file left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import InputError
from advisor.machine import detect_machine, measure_memory_bandwidth_gb_s
from tests.conftest import EXAMPLES, ROOT
from tests.gguf_factory import write_tiny_gguf

ANSWERS = str(EXAMPLES / "onprem-bank.yaml")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's own caches and no Hub token or advisor setting from the developer's shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        and not k.startswith("ADVISOR_")
    }
    env.update(
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_CACHE=str(tmp_path / "hf" / "hub"),
        ADVISOR_CACHE_DIR=str(tmp_path / "advisor-cache"),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    env.update(extra)
    return env


def advisor(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, stdout: Any = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else {**os.environ},
        cwd=ROOT,
        timeout=timeout,
    )


def one_line_error(stderr: str) -> str:
    """The single line a failure must print: no traceback, no second error."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    return lines[0]


# --------------------------------------------------------------------------------------------
# 2. A Hub that does not answer, or answers late


@contextlib.contextmanager
def silent_hub() -> Iterator[str]:
    """A listening socket that never accepts: the kernel completes the handshake, nothing answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


REPO = "acme/tiny-model"
SHA = "a" * 40


class _LateHandler(BaseHTTPRequestHandler):
    """Answers ``model_info`` at once and lets everything under ``/resolve/`` wait ``delay`` s,
    or answers every request late (``all_late``), or with a 503 (``unavailable``)."""

    server: _LateServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, with_body: bool) -> None:
        self.server.requests += 1
        if self.server.unavailable:
            self.send_response(503)
            self.send_header("Retry-After", self.server.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.all_late or "/resolve/" in self.path:
            time.sleep(self.server.delay)
        body = json.dumps(
            {"id": REPO, "modelId": REPO, "sha": SHA, "siblings": [{"rfilename": "config.json"}], "tags": []}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)


class _LateServer(ThreadingHTTPServer):
    daemon_threads = True
    delay = 30.0
    all_late = False
    unavailable = False
    retry_after = "1"
    requests = 0


@contextlib.contextmanager
def late_hub(
    *, delay: float = 30.0, all_late: bool = False, unavailable: bool = False, retry_after: str = "1"
) -> Iterator[_LateServer]:
    server = _LateServer(("127.0.0.1", 0), _LateHandler)
    server.delay, server.all_late, server.unavailable = delay, all_late, unavailable
    server.retry_after = retry_after
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def hub_env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    limits = {"ADVISOR_HUB_CONNECT_TIMEOUT": "1", "ADVISOR_HUB_READ_TIMEOUT": "1", "ADVISOR_HUB_DEADLINE": "20"}
    return clean_env(tmp_path, HF_ENDPOINT=endpoint, **{**limits, **extra})


@pytest.mark.parametrize(
    "args",
    [("hub", "show", REPO), ("smoke", REPO, "--quant", "Q4_K_M"), ("hub", "search", "--limit", "1")],
    ids=["hub-show", "smoke", "hub-search"],
)
def test_a_hub_that_never_answers_fails_at_the_read_timeout(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A Hub that accepts the connection and never answers is an environment problem (exit 3),
    reported in one line naming the host and the limit, after the read timeout: not a hang."""
    with silent_hub() as endpoint:
        proc = advisor(*args, env=hub_env(tmp_path, endpoint), timeout=40)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert endpoint.removeprefix("http://") in line and "1 s" in line, line
    assert "ADVISOR_HUB_READ_TIMEOUT" in line, line


def test_a_file_download_that_answers_late_fails_at_the_read_timeout(tmp_path: Path) -> None:
    """``model_info`` answers, then the config.json download waits 30 s: the read timeout (1 s)
    ends it with exit 3 naming the host and the limit, however often the client would retry."""
    with late_hub(delay=30) as server:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        proc = advisor("hub", "show", REPO, env=hub_env(tmp_path, endpoint), timeout=40)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert endpoint.removeprefix("http://") in line and "1 s" in line, line


def test_retries_stop_at_the_deadline(tmp_path: Path) -> None:
    """A Hub answering 503 (Retry-After 1) to every request would be retried with backoff; the
    command's deadline (1.5 s) bounds the whole: exit 3, one line naming the deadline setting,
    and far fewer requests than the retry loop's four."""
    with late_hub(unavailable=True) as server:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        proc = advisor("hub", "show", REPO, env=hub_env(tmp_path, endpoint, ADVISOR_HUB_DEADLINE="1.5"), timeout=40)
        requests = server.requests
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert "ADVISOR_HUB_DEADLINE" in line and "1.5 s" in line, line
    assert requests < 4


@pytest.mark.parametrize("retry_after", ["nan", "-5", "1e9", "soon"])
def test_a_hostile_retry_after_neither_crashes_nor_stalls(tmp_path: Path, retry_after: str) -> None:
    """``Retry-After: nan`` used to reach ``time.sleep`` (an internal error, exit 70); a huge one
    would stall for as long as the Hub asks. Either way: exit 3 in one line, within the deadline."""
    with late_hub(unavailable=True, retry_after=retry_after) as server:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        proc = advisor("hub", "show", REPO, env=hub_env(tmp_path, endpoint, ADVISOR_HUB_DEADLINE="4"), timeout=40)
    assert proc.returncode == 3, proc.stderr
    assert "503" in one_line_error(proc.stderr)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "inf", "nan"])
def test_a_bad_timeout_setting_names_the_variable(tmp_path: Path, value: str) -> None:
    """A timeout setting that is not a positive finite number of seconds is bad input (exit 2)."""
    with silent_hub() as endpoint:
        proc = advisor("hub", "show", REPO, env=hub_env(tmp_path, endpoint, ADVISOR_HUB_READ_TIMEOUT=value))
    assert proc.returncode == 2, proc.stderr
    assert "ADVISOR_HUB_READ_TIMEOUT" in one_line_error(proc.stderr)


# --------------------------------------------------------------------------------------------
# 3. Signals during `advisor smoke`


@pytest.fixture(scope="module")
def smoke_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache that already holds this machine's bandwidth (the pre-flight probe is not the test)."""
    directory = tmp_path_factory.mktemp("smoke-cache")
    old = os.environ.get("ADVISOR_CACHE_DIR")
    os.environ["ADVISOR_CACHE_DIR"] = str(directory)
    try:
        gb_s = measure_memory_bandwidth_gb_s()
    finally:
        if old is None:
            del os.environ["ADVISOR_CACHE_DIR"]
        else:
            os.environ["ADVISOR_CACHE_DIR"] = old
    key = detect_machine(with_gpus=False).key
    (directory / "machine.json").write_text(json.dumps({"bandwidth": {key: {"gb_s": gb_s}}}))
    return directory


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (the worker's request path names our temp dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = next(
                (ln for ln in (entry / "status").read_text().splitlines() if ln.startswith("State:")), "State: ?"
            )
        except OSError:
            continue
        if text in cmdline and "advisor.smoke.worker" in cmdline and "zombie" not in state:
            found.append(int(entry.name))
    return found


def _wait_for(predicate: Any, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_the_smoke_worker_dies_with_the_cli(tmp_path: Path, smoke_cache: Path, sig: str) -> None:
    """Whatever stops the CLI (Ctrl-C, a service manager's SIGTERM, a closed terminal, SIGKILL),
    the llama.cpp worker it started goes with it and its temp directory is removed: nothing keeps
    using the CPU and memory of a run nobody is waiting for."""
    model = write_tiny_gguf(tmp_path / "tiny.gguf")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = clean_env(tmp_path, ADVISOR_CACHE_DIR=str(smoke_cache), TMPDIR=str(tmp), ADVISOR_SMOKE_FAULT="hang@start")
    cli = subprocess.Popen(
        [sys.executable, "-m", "advisor", "smoke", str(model), "--no-record", "--timeout", "120"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        assert _wait_for(lambda: _processes_mentioning(str(tmp)), 60), "the worker never started"
        assert _wait_for(lambda: any((d / "progress.jsonl").exists() for d in tmp.iterdir()), 30)
        cli.send_signal(getattr(signal, sig))
        cli.wait(timeout=30)
        stderr = cli.stderr.read().decode() if cli.stderr else ""
        assert _wait_for(lambda: not _processes_mentioning(str(tmp)), 10), f"worker left running after {sig}"
        assert _wait_for(lambda: not list(tmp.iterdir()), 10), f"left behind: {list(tmp.iterdir())}"
        if sig != "SIGKILL":
            assert cli.returncode == 128 + getattr(signal, sig), stderr
            assert "Traceback" not in stderr, stderr
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid in _processes_mentioning(str(tmp)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# 4. Outputs only to regular files, atomically


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (("ask", "--no-input", "--answers", ANSWERS, "--out"), "answers.yaml"),
        (("plan", "--answers", ANSWERS, "--out"), "report.md"),
        (("quality", "fit", "--plot"), "boundaries.svg"),
    ],
    ids=["ask", "plan", "quality-plot"],
)
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_an_output_path_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, command: tuple[str, ...], name: str, kind: str
) -> None:
    """``--out`` names a file to (re)write; a FIFO, a device or a directory there is refused with
    exit 2 naming it, left as it was, and no temp file is left beside it (a FIFO used to hang the
    command, a device node used to be replaced)."""
    target = tmp_path / name
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    proc = advisor(*command, str(target), env=clean_env(tmp_path), timeout=60)
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc.stderr)
    assert str(target) in line and "regular file" in line, line
    assert target.is_fifo() if kind == "fifo" else target.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "advisor-cache") == [target.name]


def test_a_device_node_is_never_replaced(tmp_path: Path) -> None:
    """``ask --out`` naming a device must not replace the device node (as root, a rename would).

    The device is a null device made in the test's own directory, never the system's /dev/null.
    """
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot create a device node here")
    proc = advisor("ask", "--no-input", "--answers", ANSWERS, "--out", str(device), env=clean_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert str(device) in one_line_error(proc.stderr)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_write_output_replaces_a_regular_file_atomically(tmp_path: Path) -> None:
    from advisor.files.output import write_output

    target = tmp_path / "report.md"
    target.write_text("old")
    write_output(target, "new\n", option="--out")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_write_output_removes_its_temp_file_when_writing_fails(tmp_path: Path) -> None:
    """A write that fails half-way (here: text the encoder refuses) leaves the old file intact and
    no temp file behind."""
    from advisor.files.output import write_output

    target = tmp_path / "report.md"
    target.write_text("old")
    with pytest.raises((InputError, UnicodeEncodeError)):
        write_output(target, "ok \ud800 not encodable", option="--out")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_write_output_through_a_symlink_writes_the_file_it_names(tmp_path: Path) -> None:
    from advisor.files.output import write_output

    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_output(link, "new", option="--out")
    assert link.is_symlink() and real.read_text() == "new"


# --------------------------------------------------------------------------------------------
# 15. A full or broken stdout


def test_stdout_on_a_full_device_is_an_environment_problem(tmp_path: Path) -> None:
    """``advisor plan > /dev/full``: the report cannot be written; that is the environment (exit 3),
    said in one line, not an internal error."""
    with open("/dev/full", "w") as full:
        proc = advisor("plan", "--answers", ANSWERS, env=clean_env(tmp_path), stdout=full)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert "stdout" in line and "No space left" in line, line


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_a_closed_pipe_on_stdout_is_an_environment_problem(tmp_path: Path, fmt: str) -> None:
    """``advisor plan | head`` after head has gone: exit 3 with one line, no traceback and no second
    error at interpreter exit (the reader closed the pipe before anything was written, so the
    first write fails whatever the pipe's capacity)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as closed:
        proc = advisor("plan", "--answers", ANSWERS, "--format", fmt, env=clean_env(tmp_path), stdout=closed)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert "stdout" in line, line


# --------------------------------------------------------------------------------------------
# 14 (part). Invalid option values name the option


@pytest.mark.parametrize("value", ["-5", "lots"])
def test_a_bad_gpu_layers_value_names_the_option(tmp_path: Path, value: str) -> None:
    model = write_tiny_gguf(tmp_path / "tiny.gguf")
    proc = advisor("smoke", str(model), "--gpu-layers", value, env=clean_env(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "--gpu-layers" in proc.stderr and value in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# 2 (bench). An endpoint under `advisor bench` that does not answer, or dribbles


@contextlib.contextmanager
def dribbling_endpoint(gap_s: float = 0.2) -> Iterator[str]:
    """Answers 200 with an event stream, then one byte every ``gap_s`` forever, never a newline:
    every read is quick, so only a bound on the whole request ends it."""
    stop = threading.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")
            while not stop.wait(gap_s):
                conn.sendall(b"x")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        sock.close()


@pytest.mark.parametrize("model", [(), ("--model", "m")], ids=["model-list", "first-request"])
def test_a_bench_endpoint_that_never_answers_is_an_environment_problem(tmp_path: Path, model: tuple[str, ...]) -> None:
    """The endpoint accepts and never answers: exit 3 after --timeout, one line naming the
    endpoint and the limit (the first request is the warm-up: no answer there is no benchmark)."""
    with silent_hub() as url:
        proc = advisor("bench", url, "--timeout", "2", "--no-record", *model, env=clean_env(tmp_path), timeout=60)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc.stderr)
    assert url.removeprefix("http://") in line and "2 s" in line, line


def test_a_bench_endpoint_that_dribbles_is_cut_at_the_timeout(tmp_path: Path) -> None:
    """A stream that sends a byte every 0.2 s and never a line end keeps every read short; the
    request's timeout (1 s) still bounds the whole request, so the command ends (a hang fails the
    test at the subprocess timeout)."""
    with dribbling_endpoint() as url:
        proc = advisor(
            "bench", url, "--timeout", "1", "--model", "m", "--no-record", env=clean_env(tmp_path), timeout=60
        )
    assert proc.returncode in (1, 3), proc.stderr
    line = one_line_error(proc.stderr)
    assert url.removeprefix("http://") in line and "1 s" in line, line
