"""Normalize and LogitScore: math and folders (including the empty Normalize folder)."""

from __future__ import annotations

import json

import pytest
import torch

from omniembed.modules.logit_score import LogitScore
from omniembed.modules.normalize import Normalize


# -- Normalize ------------------------------------------------------------------------------------------------
def test_module_normalize_unit_length() -> None:
    out = Normalize()({"sentence_embedding": torch.tensor([[3.0, 4.0], [0.0, -5.0]])})["sentence_embedding"]
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8], [0.0, -1.0]]))


def test_module_normalize_zero_vector_stays_finite() -> None:
    out = Normalize()({"sentence_embedding": torch.zeros(1, 3)})["sentence_embedding"]
    assert out.tolist() == [[0.0, 0.0, 0.0]]


def test_module_normalize_token_embeddings_per_token() -> None:
    norm = Normalize(module_input_name="token_embeddings")
    out = norm({"token_embeddings": torch.tensor([[[0.0, 2.0], [6.0, 8.0]]])})["token_embeddings"]
    torch.testing.assert_close(out, torch.tensor([[[0.0, 1.0], [0.6, 0.8]]]))


def test_module_normalize_output_name_and_missing_input() -> None:
    norm = Normalize(module_output_name="unit")
    features = {"sentence_embedding": torch.tensor([[1.0, 0.0]])}
    assert norm(features)["unit"].tolist() == [[1.0, 0.0]]
    assert norm({"other": 1}) == {"other": 1}


def test_module_normalize_save_writes_names_only(tmp_path) -> None:
    Normalize().save(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
    assert json.loads((tmp_path / "config.json").read_text()) == {
        "module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"}


def test_module_normalize_round_trip_custom_names(tmp_path) -> None:
    Normalize("token_embeddings", "unit_tokens").save(str(tmp_path))
    loaded = Normalize.load(str(tmp_path))
    assert (loaded.module_input_name, loaded.module_output_name) == ("token_embeddings", "unit_tokens")


def test_module_normalize_empty_folder_loads(tmp_path) -> None:
    loaded = Normalize.load(str(tmp_path))
    assert (loaded.module_input_name, loaded.module_output_name) == ("sentence_embedding", "sentence_embedding")


def test_module_normalize_missing_folder_and_no_path_load(tmp_path) -> None:
    assert isinstance(Normalize.load(str(tmp_path / "absent")), Normalize)
    assert isinstance(Normalize.load(), Normalize)


# -- LogitScore -----------------------------------------------------------------------------------------------
LOGITS = torch.tensor([
    [[9.0, 9.0, 9.0, 9.0], [0.0, 1.0, 4.0, -2.0]],   # last position: true(2)=4, false(3)=-2
    [[9.0, 9.0, 9.0, 9.0], [0.0, 0.5, -1.0, 3.0]],   # last position: true=-1, false=3
])


def test_module_logit_score_difference() -> None:
    out = LogitScore(true_token_id=2, false_token_id=3)({"causal_logits": LOGITS})["scores"]
    assert out.shape == (2, 1)
    assert out.tolist() == [[6.0], [-4.0]]


def test_module_logit_score_true_only() -> None:
    assert LogitScore(2)({"causal_logits": LOGITS})["scores"].tolist() == [[4.0], [-1.0]]


def test_module_logit_score_float32_from_half() -> None:
    out = LogitScore(2, 3)({"causal_logits": LOGITS.to(torch.bfloat16)})["scores"]
    assert out.dtype == torch.float32
    assert out.tolist() == [[6.0], [-4.0]]


def test_module_logit_score_two_dim_logits_and_names() -> None:
    score = LogitScore(0, 1, module_input_name="logits", module_output_name="relevance")
    out = score({"logits": torch.tensor([[2.0, 0.5]])})
    assert out["relevance"].tolist() == [[1.5]]


def test_module_logit_score_save_matches_reference_config(tmp_path) -> None:
    LogitScore(400, 401).save(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]
    assert json.loads((tmp_path / "config.json").read_text()) == {
        "true_token_id": 400, "false_token_id": 401, "module_input_name": "causal_logits"}


@pytest.mark.parametrize("kwargs", [{"true_token_id": 7}, {"true_token_id": 7, "false_token_id": 9,
                                                             "module_output_name": "other"}])
def test_module_logit_score_round_trip(tmp_path, kwargs) -> None:
    score = LogitScore(**kwargs)
    score.save(str(tmp_path))
    loaded = LogitScore.load(str(tmp_path))
    assert loaded.get_config_dict() == score.get_config_dict()
    assert loaded.module_output_name == score.module_output_name
    logits = torch.randn(3, 2, 10)
    assert torch.equal(loaded({"causal_logits": logits})[loaded.module_output_name],
                       score({"causal_logits": logits})[score.module_output_name])


def test_module_logit_score_loads_reference_folder(tmp_path) -> None:
    reference = '{"true_token_id":400,"false_token_id":401,"module_input_name":"causal_logits"}'
    (tmp_path / "config.json").write_text(reference)
    loaded = LogitScore.load(str(tmp_path))
    assert (loaded.true_token_id, loaded.false_token_id, loaded.module_output_name) == (400, 401, "scores")
