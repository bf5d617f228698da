"""Folders saved by the reference (sentence-transformers 6.2) with its other modules load in omniembed and give
its numbers; omniembed saves them back in the reference's layout, file for file.

Fixtures: ``fixtures/<case>/`` were saved by the reference and ``fixtures/expected.json`` holds its embeddings of
the same texts (``benchmarks/compat_modules.py --write`` regenerates both, and also has the reference load the
folders omniembed saves). Texts without any known word give the reference -inf (max pooling) or NaN (LayerNorm of
-inf); omniembed pools such rows to zeros (a documented departure), so those rows are checked to be finite.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from omniembed import SentenceTransformer

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
TEXTS, PROMPT = EXPECTED["texts"], EXPECTED["prompt"]
CASES = ["static", "static_legacy", "glove_weights", "glove_lstm", "glove_cnn", "glove_legacy", "bow"]
MODULE_TYPES = {
    "static": ["StaticEmbedding"],
    "glove_weights": ["WordEmbeddings", "WordWeights", "Pooling"],
    "glove_lstm": ["WordEmbeddings", "LSTM", "Pooling"],
    "glove_cnn": ["WordEmbeddings", "CNN", "Pooling", "LayerNorm", "Dropout", "Normalize"],
    "bow": ["BoW"],
    "wlp": ["Transformer", "WeightedLayerPooling", "Pooling"],
}


@pytest.fixture(scope="module")
def wlp_folder(tmp_path_factory, tiny_bert_dir) -> Path:
    """The reference's WeightedLayerPooling folder (tokenizer included), completed with the tiny BERT's weights."""
    from safetensors.numpy import load_file

    checksum = float(sum(abs(v).sum() for v in load_file(str(Path(tiny_bert_dir) / "model.safetensors")).values()))
    assert checksum == pytest.approx(EXPECTED["bert_checksum"], rel=1e-9), (
        "support.models.build_bert no longer builds the BERT the fixtures were made with; rerun "
        "benchmarks/compat_modules.py --write")
    folder = tmp_path_factory.mktemp("wlp") / "wlp"
    shutil.copytree(FIXTURES / "wlp", folder)
    shutil.copy(Path(tiny_bert_dir) / "model.safetensors", folder / "model.safetensors")
    return folder


def _folder(case: str, request) -> Path:
    return request.getfixturevalue("wlp_folder") if case == "wlp" else FIXTURES / case


def _check(expected: list, actual: np.ndarray) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(expected).all(axis=1)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=0, atol=1e-6)
    assert np.isfinite(actual).all()  # rows without known words: zeros where the reference gives -inf / NaN


@pytest.mark.parametrize("case", [*CASES, "wlp"])
def test_compat_reference_folder_loads_with_reference_embeddings(case, request):
    # the legacy GloVe folder holds only a pickle, as the reference wrote it: opt-in (differences.md §17)
    model = SentenceTransformer(str(_folder(case, request)), device="cpu", allow_pickle=case == "glove_legacy")
    expected = EXPECTED[case]
    assert [type(m).__name__ for m in model] == MODULE_TYPES.get(case.replace("_legacy", ""), MODULE_TYPES.get(
        {"glove_legacy": "glove_weights"}.get(case, case)))
    assert model.get_embedding_dimension() == expected["dimension"]
    _check(expected["plain"], model.encode(TEXTS))
    _check(expected["prompt"], model.encode(TEXTS, prompt=PROMPT))
    _check(expected["normalized_batch_size_2"], model.encode(TEXTS, normalize_embeddings=True, batch_size=2))


def test_compat_empty_texts_pool_to_zeros_not_minus_inf():
    model = SentenceTransformer(str(FIXTURES / "glove_lstm"), device="cpu")
    embeddings = model.encode(["zzz qqq", "", "the cat"])
    assert not np.isfinite(np.asarray(EXPECTED["glove_lstm"]["plain"][3])).any()  # the reference: -inf
    assert np.array_equal(embeddings[:2], np.zeros((2, 10), dtype=np.float32))
    assert np.abs(embeddings[2]).sum() > 0


def _tree(folder: Path) -> dict[str, object]:
    """Every file of a saved model folder, comparable across libraries: JSON parsed (the version stamp and key
    order aside), weights as tensors, other files as bytes."""
    from safetensors.torch import load_file

    files: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == "README.md":
            continue
        name = str(path.relative_to(folder))
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            if isinstance(data, dict):
                data.pop("__version__", None)
                if isinstance(data.get("stop_words"), list):
                    data["stop_words"] = sorted(data["stop_words"])  # saved from a set: order is arbitrary
            files[name] = data
        elif path.suffix == ".safetensors":
            files[name] = {k: v.tolist() for k, v in load_file(str(path)).items()}
        elif path.suffix == ".bin":
            files[name] = {k: v.tolist() for k, v in torch.load(path, weights_only=True).items()}
        else:
            files[name] = path.read_bytes()
    return files


@pytest.mark.parametrize("case", ["static", "glove_weights", "glove_lstm", "glove_cnn", "bow"])
def test_compat_omniembed_saves_the_reference_folder_file_for_file(case, tmp_path):
    SentenceTransformer(str(FIXTURES / case), device="cpu").save(str(tmp_path / case))
    assert _tree(tmp_path / case) == _tree(FIXTURES / case)


def test_compat_legacy_folders_are_resaved_in_the_current_layout(tmp_path):
    for legacy, current in (("static_legacy", "static"), ("glove_legacy", "glove_weights")):
        SentenceTransformer(str(FIXTURES / legacy), device="cpu", allow_pickle=True).save(str(tmp_path / legacy))
        assert _tree(tmp_path / legacy) == _tree(FIXTURES / current)


def test_compat_weighted_layer_pooling_folder_round_trip(wlp_folder, tmp_path):
    model = SentenceTransformer(str(wlp_folder), device="cpu")
    model.save(str(tmp_path / "wlp"))
    saved, original = _tree(tmp_path / "wlp"), _tree(wlp_folder)
    for name in ("modules.json", "1_WeightedLayerPooling/config.json", "1_WeightedLayerPooling/model.safetensors",
                 "2_Pooling/config.json", "config_sentence_transformers.json"):
        assert saved[name] == original[name], name
    reloaded = SentenceTransformer(str(tmp_path / "wlp"), device="cpu")
    _check(EXPECTED["wlp"]["plain"], reloaded.encode(TEXTS))
