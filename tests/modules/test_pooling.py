"""Pooling: exact values per mode for right and left padding, prompt exclusion, masks, dtypes, configs."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch

from omniembed.errors import ConfigError
from omniembed.modules.pooling import POOLING_MODES, Pooling, convert_legacy_config

# Two rows, hidden size 2. Row 0 has 3 real tokens and one pad (value 99, which must never leak in);
# row 1 has 4 real tokens.
REAL = [
    [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
    [[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]],
]
PAD = [99.0, 99.0]


def batch(side: str) -> dict[str, torch.Tensor]:
    rows, masks = [], []
    for real in REAL:
        pads = 4 - len(real)
        rows.append(real + [PAD] * pads if side == "right" else [PAD] * pads + real)
        masks.append([1] * len(real) + [0] * pads if side == "right" else [0] * pads + [1] * len(real))
    return {"token_embeddings": torch.tensor(rows), "attention_mask": torch.tensor(masks)}


# Worked out by hand from REAL:
#   mean row 0: ([1,2]+[3,4]+[5,6])/3 = [3,4]; row 1: [160,200]/4 = [40,50]
#   weightedmean row 0: (1·[1,2] + 2·[3,4] + 3·[5,6]) / 6 = [22,28]/6; row 1: [500,600]/10
EXPECTED = {
    "cls": [[1.0, 2.0], [10.0, 20.0]],
    "max": [[5.0, 6.0], [70.0, 80.0]],
    "mean": [[3.0, 4.0], [40.0, 50.0]],
    "mean_sqrt_len_tokens": [[9 / math.sqrt(3), 12 / math.sqrt(3)], [160 / 2, 200 / 2]],
    "weightedmean": [[22 / 6, 28 / 6], [50.0, 60.0]],
    "lasttoken": [[5.0, 6.0], [70.0, 80.0]],
}

# include_prompt=False with prompt_length=1: the first real token of each row is dropped.
#   mean row 0: ([3,4]+[5,6])/2; row 1: ([30,40]+[50,60]+[70,80])/3 = [50,60]
#   weightedmean keeps positional weights: row 0 (2·[3,4] + 3·[5,6]) / 5 = [21,26]/5;
#   row 1 (2·[30,40] + 3·[50,60] + 4·[70,80]) / 9 = [490,580]/9
#   cls is the [CLS] position, which the prompt does not move.
EXPECTED_NO_PROMPT = {
    "cls": [[1.0, 2.0], [10.0, 20.0]],
    "max": [[5.0, 6.0], [70.0, 80.0]],
    "mean": [[4.0, 5.0], [50.0, 60.0]],
    "mean_sqrt_len_tokens": [[8 / math.sqrt(2), 10 / math.sqrt(2)], [150 / math.sqrt(3), 180 / math.sqrt(3)]],
    "weightedmean": [[21 / 5, 26 / 5], [490 / 9, 580 / 9]],
    "lasttoken": [[5.0, 6.0], [70.0, 80.0]],
}


def pooled(pooling: Pooling, features: dict) -> torch.Tensor:
    return pooling(features)["sentence_embedding"]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("mode", POOLING_MODES)
def test_module_pooling_exact_values(mode: str, side: str) -> None:
    out = pooled(Pooling(2, mode), batch(side))
    torch.testing.assert_close(out, torch.tensor(EXPECTED[mode]))


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("mode", POOLING_MODES)
def test_module_pooling_excludes_prompt(mode: str, side: str) -> None:
    features = batch(side)
    features["prompt_length"] = 1
    out = pooled(Pooling(2, mode, include_prompt=False), features)
    torch.testing.assert_close(out, torch.tensor(EXPECTED_NO_PROMPT[mode]))


@pytest.mark.parametrize("prompt_length", [1, torch.tensor(1), torch.tensor([1]), torch.tensor([1, 1])])
def test_module_pooling_prompt_length_forms(prompt_length) -> None:
    features = batch("left")
    features["prompt_length"] = prompt_length
    out = pooled(Pooling(2, "mean", include_prompt=False), features)
    torch.testing.assert_close(out, torch.tensor(EXPECTED_NO_PROMPT["mean"]))


def test_module_pooling_prompt_length_per_row() -> None:
    features = batch("right")
    features["prompt_length"] = torch.tensor([1, 2])
    out = pooled(Pooling(2, "mean", include_prompt=False), features)
    torch.testing.assert_close(out, torch.tensor([[4.0, 5.0], [60.0, 70.0]]))  # row 1: ([50,60]+[70,80])/2


def test_module_pooling_pruned_mask_replaces_feature_without_mutating_input() -> None:
    features = batch("left")
    original = features["attention_mask"]
    snapshot = original.clone()
    features["prompt_length"] = 2
    Pooling(2, "mean", include_prompt=False)(features)
    assert torch.equal(original, snapshot)
    assert features["attention_mask"] is not original
    assert features["attention_mask"].tolist() == [[0, 0, 0, 1], [0, 0, 1, 1]]
    assert features["attention_mask"].dtype == original.dtype


def test_module_pooling_include_prompt_true_ignores_prompt_length() -> None:
    features = batch("right")
    features["prompt_length"] = 2
    torch.testing.assert_close(pooled(Pooling(2, "mean"), features), torch.tensor(EXPECTED["mean"]))


@pytest.mark.parametrize(
    "modes",
    [("cls", "mean"), ("mean", "mean_sqrt_len_tokens"), ("lasttoken", "cls"), POOLING_MODES],
)
def test_module_pooling_tuple_concatenates_in_order(modes: tuple[str, ...]) -> None:
    pooling = Pooling(2, modes)
    out = pooled(pooling, batch("left"))
    expected = torch.cat([torch.tensor(EXPECTED[m]) for m in modes], dim=1)
    torch.testing.assert_close(out, expected)
    assert pooling.get_sentence_embedding_dimension() == 2 * len(modes) == out.shape[1]


def test_module_pooling_max_masks_with_minus_inf_not_zero() -> None:
    # all real values are negative; a pad of 0 must not win
    tokens = torch.tensor([[[-1.0, -5.0], [-3.0, -2.0], [0.0, 0.0]]])
    out = pooled(Pooling(2, "max"), {"token_embeddings": tokens, "attention_mask": torch.tensor([[1, 1, 0]])})
    assert out.tolist() == [[-1.0, -2.0]]


def test_module_pooling_mask_length_mismatch_counts_every_token() -> None:
    # e.g. a text mask of length 2 next to 3 vision tokens: the mask is ignored
    tokens = torch.tensor([[[1.0, 1.0], [2.0, 4.0], [6.0, 7.0]]])
    features = {"token_embeddings": tokens, "attention_mask": torch.tensor([[1, 0]])}
    assert pooled(Pooling(2, "mean"), features).tolist() == [[3.0, 4.0]]
    assert pooled(Pooling(2, "lasttoken"), dict(features)).tolist() == [[6.0, 7.0]]


def test_module_pooling_without_mask_counts_every_token() -> None:
    tokens = torch.tensor([[[1.0, 1.0], [2.0, 4.0], [6.0, 7.0]]])
    assert pooled(Pooling(2, ("mean", "max")), {"token_embeddings": tokens}).tolist() == [[3.0, 4.0, 6.0, 7.0]]


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_module_pooling_all_pad_row_gives_zeros(mode: str) -> None:
    tokens = torch.tensor([[[5.0, -5.0], [7.0, 8.0]], [[1.0, 2.0], [3.0, 4.0]]])
    mask = torch.tensor([[0, 0], [1, 1]])
    out = pooled(Pooling(2, mode), {"token_embeddings": tokens, "attention_mask": mask})
    assert out[0].tolist() == [0.0, 0.0]
    assert torch.isfinite(out).all()


def test_module_pooling_fp16_accumulates_in_fp32() -> None:
    # 60000 + 60000 overflows fp16 (max 65504); the fp32 accumulator keeps the mean exact
    tokens = torch.tensor([[[60000.0, 1.0], [60000.0, 3.0], [0.0, 0.0]]], dtype=torch.float16)
    features = {"token_embeddings": tokens, "attention_mask": torch.tensor([[1, 1, 0]])}
    out = pooled(Pooling(2, ("mean", "weightedmean", "max")), features)
    assert out.dtype == torch.float16
    # weightedmean: (1·60000 + 2·60000)/3 = 60000 and (1·1 + 2·3)/3 = 7/3
    expected = torch.tensor([[60000.0, 2.0, 60000.0, 7 / 3, 60000.0, 3.0]], dtype=torch.float16)
    torch.testing.assert_close(out, expected)


def test_module_pooling_bf16_keeps_dtype() -> None:
    features = batch("right")
    features["token_embeddings"] = features["token_embeddings"].to(torch.bfloat16)
    out = pooled(Pooling(2, "mean"), features)
    assert out.dtype == torch.bfloat16
    assert out.float().tolist() == EXPECTED["mean"]


def test_module_pooling_cls_token_embeddings_feature_wins() -> None:
    features = batch("right")
    features["cls_token_embeddings"] = torch.tensor([[7.0, 7.0], [8.0, 8.0]])
    assert pooled(Pooling(2, "cls"), features).tolist() == [[7.0, 7.0], [8.0, 8.0]]


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_module_pooling_gradient_flows(mode: str) -> None:
    tokens = torch.randn(2, 4, 3, requires_grad=True)
    out = pooled(Pooling(3, mode), {"token_embeddings": tokens, "attention_mask": torch.tensor([[1, 1, 0, 0]] * 2)})
    out.sum().backward()
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0
    assert tokens.grad[:, 2:].abs().sum() == 0  # padding never contributes


@pytest.mark.parametrize("bad", ["median", ("mean", "nope")])
def test_module_pooling_invalid_mode_message(bad) -> None:
    name = bad if isinstance(bad, str) else bad[1]
    with pytest.raises(ConfigError) as info:
        Pooling(8, bad)
    assert str(info.value) == (
        f"Invalid pooling mode: '{name}'. Valid pooling modes are: "
        "('cls', 'max', 'mean', 'mean_sqrt_len_tokens', 'weightedmean', 'lasttoken')"
    )
    assert isinstance(info.value, ValueError)


def test_module_pooling_mode_is_case_insensitive_and_dimension() -> None:
    pooling = Pooling(384, "MEAN")
    assert pooling.pooling_mode == "mean"
    assert pooling.get_sentence_embedding_dimension() == pooling.get_embedding_dimension() == 384


@pytest.mark.parametrize("mode", ["cls", ("cls", "mean")])
@pytest.mark.parametrize("include_prompt", [True, False])
def test_module_pooling_save_load_round_trip(tmp_path, mode, include_prompt) -> None:
    pooling = Pooling(8, mode, include_prompt=include_prompt)
    pooling.save(str(tmp_path))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == {"embedding_dimension": 8, "pooling_mode": mode if isinstance(mode, str) else list(mode),
                     "include_prompt": include_prompt}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no weights
    loaded = Pooling.load(str(tmp_path))
    assert (loaded.pooling_mode, loaded.embedding_dimension, loaded.include_prompt) == (mode, 8, include_prompt)
    features = batch("right")
    features["token_embeddings"] = torch.randn(2, 4, 8)
    torch.testing.assert_close(pooled(loaded, dict(features)), pooled(pooling, dict(features)))


LEGACY_FLAGS_OFF = {
    "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False, "pooling_mode_mean_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
    "pooling_mode_lasttoken": False,
}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"pooling_mode_mean_tokens": True}, "mean"),
        ({"pooling_mode_lasttoken": True}, "lasttoken"),
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}, ("cls", "mean")),
        # reference order cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken, whatever the key order
        ({"pooling_mode_lasttoken": True, "pooling_mode_mean_sqrt_len_tokens": True, "pooling_mode_max_tokens": True},
         ("max", "mean_sqrt_len_tokens", "lasttoken")),
    ],
)
def test_module_pooling_legacy_flags_load(tmp_path, flags, expected) -> None:
    config = {"word_embedding_dimension": 32, **LEGACY_FLAGS_OFF, **flags}
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = Pooling.load(str(tmp_path))
    assert loaded.pooling_mode == expected
    assert loaded.embedding_dimension == 32
    assert loaded.get_sentence_embedding_dimension() == 32 * (1 if isinstance(expected, str) else len(expected))


def test_module_pooling_legacy_conversion_is_exact_and_pure() -> None:
    old = {"embedding_dimension": 384, **LEGACY_FLAGS_OFF, "pooling_mode_mean_tokens": True, "include_prompt": True}
    snapshot = dict(old)
    assert convert_legacy_config(old) == {"embedding_dimension": 384, "pooling_mode": "mean", "include_prompt": True}
    assert old == snapshot


def test_module_pooling_legacy_explicit_mode_wins_over_flags() -> None:
    converted = convert_legacy_config({"word_embedding_dimension": 4, "pooling_mode": "max",
                                       "pooling_mode_mean_tokens": True})
    assert converted == {"embedding_dimension": 4, "pooling_mode": "max"}


def test_module_pooling_legacy_all_flags_false_is_an_error() -> None:
    with pytest.raises(ConfigError, match="none of the legacy flags"):
        convert_legacy_config({"word_embedding_dimension": 4, **LEGACY_FLAGS_OFF})


def test_module_pooling_legacy_constructor_kwargs_warn() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pooling = Pooling(embedding_dimension=8, pooling_mode_cls_token=True, pooling_mode_mean_tokens=True)
    assert any(issubclass(w.category, FutureWarning) for w in caught)
    assert pooling.pooling_mode == ("cls", "mean")
    assert pooling.pooling_output_dimension == 16
    with pytest.warns(FutureWarning):
        assert Pooling(word_embedding_dimension=5).embedding_dimension == 5
    with pytest.raises(TypeError, match="pooling_mode_bogus"):
        Pooling(8, pooling_mode_bogus=True)


def test_module_pooling_unknown_config_keys_are_ignored(tmp_path, caplog) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"embedding_dimension": 4, "pooling_mode": "cls",
                                                      "include_prompt": True, "future_option": 1}))
    loaded = Pooling.load(str(tmp_path))
    assert loaded.pooling_mode == "cls"
    assert "future_option" in caplog.text
