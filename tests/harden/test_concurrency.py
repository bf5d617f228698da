"""Concurrent callers: one model object shared by 16 threads gives exactly the single-threaded results, without
deadlock, and thousands of calls do not grow memory. (docs/security.md lists which objects are thread-safe.)"""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from support import media

from omniembed import CrossEncoder, SentenceTransformer

THREADS = 16


def _pictures(n: int) -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(7)
    return [media.encode_image(Image.fromarray(rng.integers(0, 255, (24 + i, 32, 3), dtype=np.uint8)), "PNG")
            for i in range(n)]


def run_threads(work, n: int = THREADS, timeout: float = 300.0) -> list:
    """Start ``n`` threads on ``work(i)`` together; returns the results (exceptions included) in order."""
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not [t for t in threads if t.is_alive()], "deadlock: threads still running"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results


@pytest.fixture(scope="module")
def clip(clip_dir):
    return SentenceTransformer(clip_dir, device="cpu")


@pytest.fixture(scope="module")
def clap(clap_dir):
    return SentenceTransformer(clap_dir, device="cpu")


def test_sixteen_threads_encode_mixed_modalities_exactly(clip):
    pictures = _pictures(8)
    texts = [f"a photo of thing number {i}" + " very" * i for i in range(8)]
    inputs = [[texts[i % 8], pictures[i % 8], texts[(i + 3) % 8], {"image": pictures[(i + 5) % 8]}]
              for i in range(THREADS)]
    kwargs = [{"batch_size": 1 + i % 3, "normalize_embeddings": bool(i % 2)} for i in range(THREADS)]
    expected = [clip.encode(inputs[i], **kwargs[i]) for i in range(THREADS)]
    for _ in range(2):
        got = run_threads(lambda i: clip.encode(inputs[i], **kwargs[i]))
        for i in range(THREADS):
            np.testing.assert_array_equal(got[i], expected[i])


def test_threads_mixing_audio_and_text(clap):
    clips = [{"array": media.sine(220 * (1 + i % 4), 0.5, 16000)[0], "sampling_rate": 16000} for i in range(4)]
    inputs = [[clips[i % 4], f"sound {i}", clips[(i + 1) % 4]] for i in range(THREADS)]
    expected = [clap.encode(x) for x in inputs]
    got = run_threads(lambda i: clap.encode(inputs[i]))
    for i in range(THREADS):
        np.testing.assert_array_equal(got[i], expected[i])


def test_sixteen_threads_predict_mixed_pairs(tmp_path_factory):
    from support.models import build_llava

    from omniembed.modules import LogitScore, Transformer

    logits = {"method": "forward", "method_output_name": "logits"}
    transformer = Transformer(str(build_llava(tmp_path_factory.mktemp("conc_llava"))), transformer_task="any-to-any",
                              module_output_name="causal_logits",
                              modality_config={"text": logits, "image": logits,
                                               "message": {**logits, "format": "structured"}})
    tok = transformer.tokenizer
    model = CrossEncoder(modules=[transformer, LogitScore(tok.convert_tokens_to_ids("yes"),
                                                          tok.convert_tokens_to_ids("no"))], device="cpu")
    pictures = _pictures(4)
    pairs = [[(f"query {i}", pictures[i % 4]), (f"query {i}", "a plain text document " * (1 + i % 3)),
              (pictures[(i + 1) % 4], "a caption")] for i in range(THREADS)]
    expected = [model.predict(p, batch_size=2) for p in pairs]
    got = run_threads(lambda i: model.predict(pairs[i], batch_size=2))
    for i in range(THREADS):
        np.testing.assert_array_equal(got[i], expected[i])


def test_encode_and_tokenizer_settings_race(clip):
    """Text batches of very different lengths at once: the fast tokenizer's padding/truncation state is shared
    (a classic source of "Already borrowed" errors and wrongly padded batches)."""
    short = [["hi"] * 3 for _ in range(THREADS // 2)]
    long = [["word " * 70] * 3 for _ in range(THREADS // 2)]
    inputs = [x for pair in zip(short, long) for x in pair]
    expected = [clip.encode(x) for x in inputs]
    got = run_threads(lambda i: clip.encode(inputs[i]))
    for i in range(THREADS):
        np.testing.assert_array_equal(got[i], expected[i])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_encode_calls_do_not_grow_memory(clip):
    """10,000 calls on one model; every twentieth carries images (decoded in the call's thread pool, including one
    object listed twice, which the pipeline decodes once), the rest texts of varying length (tokenizer caches)."""
    pictures = _pictures(3)

    def call(i: int) -> None:
        if i % 20 == 0:
            clip.encode([f"a cat number {i}", pictures[i % 3], {"image": pictures[(i + 1) % 3]}, pictures[i % 3]],
                        batch_size=2)
        else:
            clip.encode([f"sentence {i} " + "word " * (i % 40)])

    for i in range(1000):  # warm-up: allocator pools, tokenizer caches and thread stacks settle
        call(i)
    gc.collect()
    start = _rss_bytes()
    samples = []
    for window in range(1, 10):
        for i in range(1000 * window, 1000 * (window + 1)):
            call(i)
        gc.collect()
        samples.append(_rss_bytes())
    growth = samples[-1] - start
    # A leak of even 1 kB per call would show as ~9 MB; allow 8 MB of allocator noise.
    assert growth < 8 * 2**20, [s // 2**20 for s in samples]
