"""Quiet by default, informative on demand: loads and saves print nothing; ``print(model)`` is compact; the encode
bar counts batches."""

from __future__ import annotations

import logging

import pytest
from transformers.utils import logging as hf_logging

from omniembed import CrossEncoder, SentenceTransformer


@pytest.fixture()
def omniembed_info():
    logger = logging.getLogger("omniembed")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


def test_plain_load_and_save_print_nothing(minilm_dir, tmp_path, capfd):
    hf_logging.set_verbosity_warning()  # transformers' default (other tests may have changed it)
    hf_logging.enable_progress_bar()
    model = SentenceTransformer(minilm_dir, device="cpu")
    model.save(str(tmp_path / "saved"))
    SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert hf_logging.is_progress_bar_enabled()  # transformers' own settings are restored afterwards
    assert hf_logging.get_verbosity() == logging.WARNING


def test_bars_come_back_when_logging_is_turned_up(minilm_dir, tmp_path, capfd, omniembed_info):
    model = SentenceTransformer(minilm_dir, device="cpu")
    model.save(str(tmp_path / "saved"))
    err = capfd.readouterr().err
    assert "Loading weights" in err and "Writing model shards" in err


def test_print_model_is_the_reference_compact_form(minilm_dir):
    text = repr(SentenceTransformer(minilm_dir, device="cpu"))
    assert text.splitlines() == [
        "SentenceTransformer(",
        ("  (0): Transformer({'transformer_task': 'feature-extraction', 'modality_config': {'text': {'method': "
         "'forward', 'method_output_name': 'last_hidden_state'}}, 'module_output_name': 'token_embeddings', "
         "'max_seq_length': 256, 'architecture': 'BertModel'})"),
        "  (1): Pooling({'embedding_dimension': 384, 'pooling_mode': 'mean', 'include_prompt': True})",
        "  (2): Normalize({'module_input_name': 'sentence_embedding', 'module_output_name': 'sentence_embedding'})",
        ")",
    ]


def test_cross_encoder_repr_is_compact(reranker_dir):
    lines = repr(CrossEncoder(reranker_dir, device="cpu")).splitlines()
    assert lines[0] == "CrossEncoder(" and lines[-1] == ")" and len(lines) == 3
    assert lines[1].startswith("  (0): Transformer({'transformer_task': 'sequence-classification'")
    assert lines[1].endswith("'architecture': 'BertForSequenceClassification'})")


def test_encode_progress_bar_counts_batches(minilm_dir, capfd):
    model = SentenceTransformer(minilm_dir, device="cpu")
    capfd.readouterr()
    model.encode([f"sentence {i}" for i in range(5)], batch_size=2, show_progress_bar=True)
    err = capfd.readouterr().err
    assert "Batches" in err and "3/3" in err and "5/5" not in err
