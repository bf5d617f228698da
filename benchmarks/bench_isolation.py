"""The cost of ``MediaOptions(isolation="process")`` on the image-prep workload of bench_image_preprocess.py.

The same 64 JPEG photos of 3000×2000 (generated once, cached), decoded by ``omniembed.inputs.load_item`` with
the CLIP draft hint (``image_size=224``) from a thread pool, then preprocessed by ``CLIPImageProcessor`` (PIL
backend) in the main thread:

* **in-process**: the decoders run in the calling process (``isolation="none"``, the default);
* **isolated**: every decode runs in the sandboxed worker pool (``isolation="process"``, as many workers as
  threads); the decoded image comes back pickled over a pipe.

The two run alternately (A B A B …), after one warm-up round each (the isolated pool starts its workers in the
warm-up), and the table reports medians and the isolated/in-process ratio, for decoding alone and for decoding
plus preprocessing, and the CPU time decoding costs (this process plus the workers, from /proc: on a loaded machine
the wall-clock ratio mostly measures how the scheduler shares the cores between one process and several, the CPU
ratio measures the work isolation adds). Worker start-up (once per process and limits) is reported separately.

    python benchmarks/bench_isolation.py                  # 64 images, 5 rounds, workers = CPU count
    python benchmarks/bench_isolation.py --n 16 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_image_preprocess import SIZE, make_photos
from common import print_table


def _cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of this process (all threads) or of process ``pid``, from /proc."""
    try:
        with open(f"/proc/{pid or 'self'}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_now() -> float:
    """CPU time of this process plus every isolated-decoder worker alive now: the whole cost of decoding, which
    unlike wall time does not depend on what else the machine is running."""
    from omniembed.inputs import isolation

    workers = [w.proc.pid for pool in isolation._POOLS.values() for w in pool._all if w.proc is not None]
    return _cpu_seconds() + sum(_cpu_seconds(pid) for pid in workers)


def decode_all(paths, options, workers: int) -> list:
    from omniembed.inputs import load_item

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda p: load_item(str(p), "image", options=options, image_size=224), paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    try:
        from transformers import CLIPImageProcessorPil as Processor
    except ImportError:
        from transformers import CLIPImageProcessor as Processor

    from omniembed.inputs import IsolationLimits, MediaOptions, isolation

    paths = make_photos(args.n)
    for p in paths:
        p.read_bytes()
    processor = Processor()
    variants = {
        "in-process": MediaOptions(),
        "isolated": MediaOptions(isolation="process", isolation_limits=IsolationLimits(workers=args.workers)),
    }
    started = time.perf_counter()
    from omniembed.inputs import load_item

    load_item(str(paths[0]), "image", options=variants["isolated"], image_size=224)
    first_call = time.perf_counter() - started

    times: dict[str, dict[str, list[float]]] = {k: {"decode": [], "total": [], "cpu": []} for k in variants}
    outputs = {}
    for round_index in range(args.rounds + 1):  # round 0 warms both up and is not counted
        for name, options in variants.items():
            start, cpu_start = time.perf_counter(), cpu_now()
            images = decode_all(paths, options, args.workers)
            decoded, cpu_decoded = time.perf_counter(), cpu_now()
            pixels = processor(images=images, return_tensors="np")["pixel_values"]
            done = time.perf_counter()
            if round_index:
                times[name]["decode"].append(decoded - start)
                times[name]["total"].append(done - start)
                times[name]["cpu"].append(cpu_decoded - cpu_start)
            outputs[name] = pixels
    isolation.shutdown_pools()
    same = np.array_equal(outputs["in-process"], outputs["isolated"])
    base = {k: statistics.median(v) for k, v in times["in-process"].items()}
    rows = []
    for name in variants:
        med = {k: statistics.median(v) for k, v in times[name].items()}
        rows.append((name, f"{args.n / med['decode']:.1f}", f"{args.n / med['total']:.1f}",
                     f"{med['decode'] / base['decode']:.3f}", f"{med['total'] / base['total']:.3f}",
                     f"{med['cpu'] / args.n * 1000:.1f}", f"{med['cpu'] / base['cpu']:.3f}"))
    print_table(
        f"{args.n} JPEGs of {SIZE[0]}x{SIZE[1]}, draft to 224, {args.workers} threads/workers, {os.cpu_count()} CPUs, "
        f"median of {args.rounds} alternating rounds; identical tensors: {same}; first isolated call "
        f"(starts a worker): {first_call * 1000:.0f} ms",
        rows,
        ("variant", "decode img/s", "decode+preprocess img/s", "decode time ratio", "total time ratio",
         "decode CPU ms/img", "decode CPU ratio"),
    )


if __name__ == "__main__":
    main()
