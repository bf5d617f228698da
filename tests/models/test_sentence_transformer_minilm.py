"""The real all-MiniLM-L6-v2: omniembed equals a direct transformers computation, and ranks correctly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omniembed import SentenceTransformer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A monkey is playing drums.",
]


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return SentenceTransformer(minilm_dir, device="cpu")


def direct_mean_pool(folder: str, texts: list[str]) -> np.ndarray:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_loads_reference_folder_with_legacy_class_paths(minilm):
    assert [type(m).__name__ for m in minilm] == ["Transformer", "Pooling", "Normalize"]
    assert minilm.get_embedding_dimension() == 384
    assert minilm.max_seq_length == 256  # from the legacy sentence_bert_config.json, not the tokenizer's 512
    assert minilm.modalities == ["text"] and minilm.supported_modalities == ["text"]


def test_embeddings_equal_direct_transformers_computation(minilm, minilm_dir):
    ours = minilm.encode(SENTENCES)
    expected = direct_mean_pool(minilm_dir, SENTENCES)
    assert ours.shape == (5, 384) and ours.dtype == np.float32
    cosines = (ours * expected).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.99999
    np.testing.assert_allclose(ours, expected, atol=2e-6)


def test_semantic_ranking(minilm):
    query = minilm.encode("Someone is having a meal.")
    scores = minilm.similarity(query, minilm.encode(SENTENCES))[0]
    order = torch.argsort(scores, descending=True).tolist()
    assert order[:2] == [0, 1]
    assert scores[0] == pytest.approx(0.689, abs=0.005) and scores[1] == pytest.approx(0.580, abs=0.005)
    assert scores[2:].max() < 0.1


@pytest.mark.slow  # the real MiniLM, many batch sizes
def test_results_do_not_depend_on_batch_size(minilm):
    texts = SENTENCES + ["short", "a considerably longer sentence about many different things at once"]
    reference = minilm.encode(texts, batch_size=32)
    for batch_size in (1, 2, 3):
        np.testing.assert_allclose(minilm.encode(texts, batch_size=batch_size), reference, atol=1e-5)
