"""`omniembed index` / `search` at scale (issue 11, point 7). Three measurements, each in fresh processes:

* **photos** — index N photos of 3000×2000 JPEG (20 distinct pictures, each file made unique by a JPEG
  comment so every one is hashed, decoded and embedded) with a tiny random CLIP (32 px) and with a random CLIP of
  ViT-B/32's size (224 px, 88M-parameter vision tower): files/s, peak RSS, and a re-run with nothing changed,
  whose time must stay under 5 % of the first run's (wall time of the whole command, interpreter start included).
* **search** — a store of R synthetic 512-d vectors (200 clusters): search latency p50 exact (brute force) and
  with the IVF-SQ index omniembed builds past ``ANN_THRESHOLD``, and the index's recall@10 against exact.
* **memory** — peak RSS indexing 1,000 vs 100,000 small text files (tiny BERT), which must stay within 1.5×.

    python benchmarks/bench_index.py all --quick          # small sizes: checks the script runs (~2 min)
    flock /tmp/omniembed-bench.lock nice python benchmarks/bench_index.py photos --count 2000
    flock /tmp/omniembed-bench.lock nice python benchmarks/bench_index.py search --rows 100000
    flock /tmp/omniembed-bench.lock nice python benchmarks/bench_index.py memory --large 100000

Inputs are generated once under ``benchmarks/.cache/index/``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # the tiny-model builders of the test suite
from common import CACHE, print_table

WORK = CACHE / "index"
PHOTO_SIZE = (3000, 2000)


# ---------------------------------------------------------------------------------------------------- inputs
def make_photos(count: int) -> Path:
    """``count`` unique 3000×2000 JPEGs: 20 upscaled scikit-image photos with light noise; a JPEG comment with
    the file's number makes every file's bytes (and content hash) different."""
    import numpy as np
    from PIL import Image
    from support.media import skimage_image

    folder = WORK / f"photos-{count}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    bases = []
    names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
             "ihc.png", "retina.jpg", "brick.png", "grass.png"]
    for i in range(20):
        picture = skimage_image(names[i % len(names)]).convert("RGB").resize(PHOTO_SIZE, Image.BICUBIC)
        array = np.asarray(picture, dtype=np.int16)
        if i >= len(names):
            array = array[:, ::-1]  # mirrored: ten more distinct pictures
        array = np.clip(array + rng.normal(0, 6, array.shape), 0, 255).astype(np.uint8)
        path = WORK / f"base-{i}.jpg"
        Image.fromarray(array).save(path, quality=90)
        bases.append(path.read_bytes())
    for n in range(count):
        data = bases[n % len(bases)]
        comment = f"omniembed bench photo {n}".encode()
        unique = data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]
        (folder / f"{n // 500:02d}").mkdir(exist_ok=True)
        (folder / f"{n // 500:02d}" / f"photo_{n:05d}.jpg").write_bytes(unique)
    (folder / ".complete").write_text("ok")
    return folder


def make_notes(count: int) -> Path:
    folder = WORK / f"notes-{count}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for n in range(count):
        sub = folder / f"{n // 1000:03d}"
        if n % 1000 == 0:
            sub.mkdir(parents=True)
        (sub / f"note_{n:06d}.txt").write_text(f"note {n}: buy {n % 97} apples and {n % 13} pears")
    (folder / ".complete").write_text("ok")
    return folder


def build_model(kind: str) -> str:
    """``tiny``: the test suite's CLIP (32 px, hidden 32); ``vitb32``: random weights, ViT-B/32's shapes;
    ``bert``: the test suite's tiny BERT (text)."""
    folder = WORK / f"model-{kind}"
    if (folder / ".complete").exists():
        return str(folder / "model")
    shutil.rmtree(folder, ignore_errors=True)
    from support import models

    if kind == "tiny":
        models.build_clip(folder / "model")
    elif kind == "bert":
        models.build_bert(folder / "model")
    else:
        import torch
        from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

        torch.manual_seed(0)
        tokenizer = models._clip_tokenizer()
        config = CLIPConfig(text_config={"vocab_size": len(tokenizer)})  # the defaults are ViT-B/32's
        processor = CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=tokenizer)
        CLIPModel(config).save_pretrained(folder / "model")
        processor.save_pretrained(folder / "model")
    (folder / ".complete").write_text("ok")
    return str(folder / "model")


# ----------------------------------------------------------------------------------------------- child runs
def child_index(argv: list[str]) -> None:
    """Run `omniembed index ARGV` in this process; print wall seconds, peak RSS and the JSON summary."""
    import contextlib
    import io

    from omniembed.cli import main

    started = time.perf_counter()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["index", *argv, "--no-progress", "--json"])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "seconds": seconds, "peak_mb": peak, "report": json.loads(out.getvalue())}))


THREADS: int | None = None  # --threads: torch's intra-op threads in the indexing processes


def run_index(folder: Path, db: Path, model: str, *extra: str) -> dict:
    """One `omniembed index` in a fresh interpreter; ``wall`` includes interpreter start and imports."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    if THREADS:
        env["OMP_NUM_THREADS"] = str(THREADS)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "_index", str(folder), "--db", str(db), "--model", model, *extra],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "wall": wall}


# --------------------------------------------------------------------------------------------- measurements
def bench_photos(count: int, kinds: list[str]) -> None:
    folder = make_photos(count)
    rows = []
    for kind in kinds:
        model = build_model(kind)
        db = WORK / f"db-photos-{kind}-{count}"
        shutil.rmtree(db, ignore_errors=True)
        first = run_index(folder, db, model)
        again = run_index(folder, db, model)
        assert first["report"]["embedded"] == count, first["report"]
        assert again["report"]["unchanged"] == count and again["report"]["embedded"] == 0, again["report"]
        ratio = again["wall"] / first["wall"]
        rows.append((kind, str(count), f"{count / first['report']['seconds']:.1f}", f"{first['wall']:.1f}",
                     f"{first['peak_mb']:.0f}", f"{again['wall']:.2f}", f"{ratio:.1%}", "yes" if ratio < 0.05 else "NO"))
    print_table(f"index {count} photos of 3000×2000 JPEG (CPU, {os.cpu_count()} cores)", rows,
                ("model", "files", "files/s", "first run s", "peak RSS MB", "re-run s", "re-run / first", "< 5%"))


def bench_search(rows: int, dim: int, queries: int) -> None:
    import numpy as np

    from omniembed.index.schema import StoreInfo
    from omniembed.index.store import ANN_THRESHOLD, Store

    db = WORK / f"db-search-{rows}-{dim}"
    shutil.rmtree(db, ignore_errors=True)
    store = Store.create(db, StoreInfo(model="synthetic", revision=None, dimension=dim, similarity="cosine"))
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((200, dim)).astype(np.float32)
    for start in range(0, rows, 10_000):
        n = min(10_000, rows - start)
        vectors = centers[rng.integers(0, 200, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
        store.upsert([{"id": f"/synthetic/{start + i}", "path": f"/synthetic/{start + i}", "page": None,
                       "modality": "image", "size": 0, "mtime": 0.0, "content_hash": str(start + i),
                       "metadata": None, "text": None, "vector": v} for i, v in enumerate(vectors)])
    probes = centers[rng.integers(0, 200, queries)] + 0.5 * rng.standard_normal((queries, dim)).astype(np.float32)

    def timed(exact: bool) -> tuple[float, list[set[str]]]:
        found, times = [], []
        store.search(probes[0], 10, exact=exact)  # warm caches
        for q in probes:
            started = time.perf_counter()
            found.append({r["id"] for r in store.search(q, 10, exact=exact)})
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000, found

    exact_ms, exact = timed(True)
    started = time.perf_counter()
    built = store.maintain(ann_threshold=min(ANN_THRESHOLD, rows))
    build_s = time.perf_counter() - started
    ann_ms, ann = timed(False)
    recall = statistics.mean(len(a & e) / 10 for a, e in zip(ann, exact))
    print_table(f"search over {rows} synthetic {dim}-d vectors ({queries} queries, top 10)", [
        ("exact (brute force)", f"{exact_ms:.1f}", "1.000", "-"),
        ("IVF-SQ + refine", f"{ann_ms:.1f}", f"{recall:.3f}", f"{build_s:.0f}" if built else "?"),
    ], ("search", "p50 ms", "recall@10", "index build s"))


def bench_memory(small: int, large: int) -> None:
    model = build_model("bert")
    rows = []
    for count in (small, large):
        folder = make_notes(count)
        db = WORK / f"db-notes-{count}"
        shutil.rmtree(db, ignore_errors=True)
        result = run_index(folder, db, model, "--batch-size", "64")
        assert result["report"]["embedded"] == count, result["report"]
        rows.append((str(count), f"{result['peak_mb']:.0f}", f"{count / result['report']['seconds']:.0f}"))
    ratio = float(rows[1][1]) / float(rows[0][1])
    print_table(f"memory: peak RSS indexing small text files (tiny BERT); ratio {ratio:.2f} (must be <= 1.5)", rows,
                ("files", "peak RSS MB", "files/s"))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_index":
        child_index(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("photos", "search", "memory", "all"))
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--count", type=int, default=2000, help="photos to index")
    parser.add_argument("--models", default="tiny,vitb32", help="photo models: tiny, vitb32")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the search store")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--threads", type=int, help="torch threads (OMP_NUM_THREADS) for the indexing runs; 1 keeps "
                        "figures stable on a machine whose cores are busy with other work")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    if args.quick:
        args.count, args.rows, args.queries, args.large = 40, 5_000, 20, 3_000
    if args.what in ("photos", "all"):
        bench_photos(args.count, args.models.split(","))
    if args.what in ("search", "all"):
        bench_search(args.rows, args.dim, args.queries)
    if args.what in ("memory", "all"):
        bench_memory(args.small, args.large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
