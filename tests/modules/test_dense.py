"""Dense: math, residuals, the on-disk format, and which activation paths a config may name."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from omniembed.modules.dense import Dense, activation_path, load_activation

WEIGHT = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
BIAS = torch.tensor([0.5, -1.0])


def make(activation=None, **kwargs) -> Dense:
    return Dense(2, 2, activation_function=activation, init_weight=WEIGHT.clone(), init_bias=BIAS.clone(), **kwargs)


def run(dense: Dense, x: list[list[float]], key: str = "sentence_embedding") -> torch.Tensor:
    return dense({key: torch.tensor(x)})[dense.module_output_name]


def test_module_dense_identity_math() -> None:
    # [1, 1] · W^T + b = [1+2+0.5, 3+4-1]
    assert run(make(nn.Identity()), [[1.0, 1.0], [0.0, 2.0]]).tolist() == [[3.5, 6.0], [4.5, 7.0]]


def test_module_dense_default_activation_is_tanh() -> None:
    dense = Dense(2, 2, init_weight=WEIGHT.clone(), init_bias=BIAS.clone())
    assert isinstance(dense.activation_function, nn.Tanh)
    torch.testing.assert_close(run(dense, [[1.0, 1.0]]), torch.tensor([[math.tanh(3.5), math.tanh(6.0)]]))


def test_module_dense_none_activation_is_identity() -> None:
    assert isinstance(make(None).activation_function, nn.Identity)


def test_module_dense_residual_same_size() -> None:
    dense = make(nn.Identity(), use_residual=True)
    assert run(dense, [[1.0, 1.0]]).tolist() == [[4.5, 7.0]]  # [3.5, 6] + [1, 1]


def test_module_dense_residual_projection_when_sizes_differ() -> None:
    dense = Dense(2, 1, activation_function=nn.Identity(), use_residual=True,
                  init_weight=torch.tensor([[1.0, 1.0]]), init_bias=torch.tensor([0.0]))
    with torch.no_grad():
        dense.residual.weight.copy_(torch.tensor([[10.0, 0.0]]))
    assert run(dense, [[2.0, 3.0]]).tolist() == [[25.0]]  # (2+3) + 10·2
    assert set(dense.state_dict()) == {"linear.weight", "linear.bias", "residual.weight"}


def test_module_dense_input_and_output_names() -> None:
    dense = make(nn.Identity(), module_input_name="token_embeddings", module_output_name="projected")
    features = {"token_embeddings": torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])}
    out = dense(features)
    assert out["projected"].tolist() == [[[3.5, 6.0], [0.5, -1.0]]]
    assert out["token_embeddings"].tolist() == [[[1.0, 1.0], [0.0, 0.0]]]


def test_module_dense_dimension() -> None:
    dense = Dense(4, 3)
    assert dense.get_sentence_embedding_dimension() == dense.get_embedding_dimension() == 3


def test_module_dense_bias_false() -> None:
    dense = Dense(2, 2, bias=False)
    assert set(dense.state_dict()) == {"linear.weight"}


@pytest.mark.parametrize("use_residual", [False, True])
def test_module_dense_save_load_round_trip(tmp_path, use_residual) -> None:
    torch.manual_seed(0)
    dense = Dense(3, 2, activation_function=nn.ReLU(), use_residual=use_residual)
    dense.save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    expected = {"in_features": 3, "out_features": 2, "bias": True,
                "activation_function": "torch.nn.modules.activation.ReLU",
                "module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"}
    if use_residual:
        expected["use_residual"] = True
    assert config == expected
    weights = load_file(str(tmp_path / "model.safetensors"))
    assert {"linear.weight", "linear.bias"} <= set(weights)
    loaded = Dense.load(str(tmp_path))
    assert isinstance(loaded.activation_function, nn.ReLU)
    for key, value in dense.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    x = torch.randn(4, 3)
    torch.testing.assert_close(loaded({"sentence_embedding": x})["sentence_embedding"],
                               dense({"sentence_embedding": x})["sentence_embedding"])


def test_module_dense_loads_pickled_weights(tmp_path) -> None:
    dense = make(nn.Identity())
    dense.save(str(tmp_path), safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    assert run(Dense.load(str(tmp_path), allow_pickle=True), [[1.0, 1.0]]).tolist() == [[3.5, 6.0]]


def write_config(folder, activation: str, **extra) -> None:
    dense = make(nn.Identity())
    dense.save(str(folder))
    config = json.loads((folder / "config.json").read_text())
    config.update(activation_function=activation, **extra)
    (folder / "config.json").write_text(json.dumps(config))


def test_module_dense_untrusted_activation_warns_and_uses_tanh(tmp_path, caplog) -> None:
    write_config(tmp_path, "evil_package.activations.Backdoor")
    loaded = Dense.load(str(tmp_path))
    assert isinstance(loaded.activation_function, nn.Tanh)
    assert "Activation function path 'evil_package.activations.Backdoor' is not trusted" in caplog.text
    torch.testing.assert_close(run(loaded, [[1.0, 1.0]]), torch.tensor([[math.tanh(3.5), math.tanh(6.0)]]))


def test_module_dense_torch_function_path_is_not_called_untrusted(tmp_path, caplog) -> None:
    # torch.* functions are not module classes: refused without trust_remote_code
    write_config(tmp_path, "torch.hub.load")
    assert isinstance(Dense.load(str(tmp_path)).activation_function, nn.Tanh)
    assert "is not trusted" in caplog.text


def test_module_dense_torch_module_path_loads(tmp_path, caplog) -> None:
    write_config(tmp_path, "torch.nn.GELU")
    assert isinstance(Dense.load(str(tmp_path)).activation_function, nn.GELU)
    assert "not trusted" not in caplog.text


def test_module_dense_custom_activation_needs_trust(tmp_path, monkeypatch, caplog) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "custom_activation_for_dense.py").write_text(
        "from torch import nn\n\nclass Square(nn.Module):\n    def forward(self, x):\n        return x * x\n"
    )
    monkeypatch.syspath_prepend(str(package))
    folder = tmp_path / "dense"
    folder.mkdir()
    write_config(folder, "custom_activation_for_dense.Square")
    assert isinstance(Dense.load(str(folder)).activation_function, nn.Tanh)
    trusted = Dense.load(str(folder), trust_remote_code=True)
    assert type(trusted.activation_function).__name__ == "Square"
    assert run(trusted, [[1.0, 1.0]]).tolist() == [[12.25, 36.0]]


def test_module_dense_trusted_function_path(tmp_path) -> None:
    write_config(tmp_path, "torch.nn.functional.relu")
    loaded = Dense.load(str(tmp_path), trust_remote_code=True)
    assert loaded.activation_function is torch.nn.functional.relu
    assert run(loaded, [[0.0, -1.0]]).tolist() == [[0.0, 0.0]]  # [-1.5, -5] clipped


def test_module_dense_unknown_config_key_is_ignored(tmp_path, caplog) -> None:
    write_config(tmp_path, "torch.nn.modules.linear.Identity", from_the_future=True)
    assert run(Dense.load(str(tmp_path)), [[1.0, 1.0]]).tolist() == [[3.5, 6.0]]
    assert "from_the_future" in caplog.text


def test_module_dense_activation_path_helpers() -> None:
    assert activation_path(nn.Tanh()) == "torch.nn.modules.activation.Tanh"
    assert activation_path(nn.Identity()) == "torch.nn.modules.linear.Identity"
    assert isinstance(load_activation("torch.nn.modules.activation.Sigmoid"), nn.Sigmoid)
    assert isinstance(Dense(2, 2, activation_function="torch.nn.ReLU").activation_function, nn.ReLU)
