"""Dense: a linear layer plus an activation, usually to project a sentence embedding to another size.

On disk: ``config.json`` (``in_features``, ``out_features``, ``bias``, ``activation_function`` as a dotted class
path such as ``torch.nn.modules.activation.Tanh``, ``module_input_name``, ``module_output_name``, and
``use_residual`` only when set) and ``model.safetensors`` with ``linear.weight`` / ``linear.bias`` (plus
``residual.weight`` when a residual projection exists), the reference library's names.

The activation path in a downloaded config names code to import, so without ``trust_remote_code`` only
``torch.*`` classes that are ``nn.Module`` subclasses load; anything else logs a warning and falls back to Tanh.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from omniembed.modules.dense import Dense
    >>> dense = Dense(2, 1, activation_function=nn.Identity())
    >>> with torch.no_grad():
    ...     _ = dense.linear.weight.copy_(torch.tensor([[1.0, 2.0]])), dense.linear.bias.fill_(0.5)
    >>> dense({"sentence_embedding": torch.tensor([[1.0, 1.0]])})["sentence_embedding"].tolist()
    [[3.5]]
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.errors import ConfigError, RemoteCodeError
from omniembed.modules.base import Module, load_state_dict, read_json

logger = logging.getLogger(__name__)

# The signature shows the reference's default; each Dense still gets its own Tanh instance (see __init__).
_DEFAULT_ACTIVATION = nn.Tanh()


def activation_path(activation: Any) -> str:
    """The dotted path saved for an activation: its class for modules, the function itself otherwise."""
    target = activation if inspect.isfunction(activation) or inspect.isbuiltin(activation) else type(activation)
    module = getattr(target, "__module__", None) or "torch"
    return f"{module}.{getattr(target, '__qualname__', target.__name__)}"


def load_activation(path: str, *, trust_remote_code: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build the activation named by a saved config (see the module docstring for what is trusted)."""
    from omniembed.serialization.registry import import_path

    try:
        target = import_path(path, trust_remote_code=trust_remote_code, trusted_prefixes=("torch.",))
    except RemoteCodeError:
        target = None
    is_module_class = inspect.isclass(target) and issubclass(target, nn.Module)
    if not trust_remote_code and not is_module_class:
        # Plain torch functions are refused too: only module classes are instantiated without arguments.
        target = None
    if target is None:
        logger.warning(
            "Activation function path '%s' is not trusted, falling back to the default activation function "
            "(Tanh). Please load the model with `trust_remote_code=True` to allow loading custom activation "
            "functions via the configuration.", path,
        )
        return nn.Tanh()
    return target() if inspect.isclass(target) else target


class Dense(Module):
    """``activation(linear(x))`` on ``features[module_input_name]`` (+ ``x`` when ``use_residual``)."""

    config_keys: ClassVar[list[str]] = [
        "in_features", "out_features", "bias", "activation_function", "module_input_name", "module_output_name",
    ]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: Callable[[torch.Tensor], torch.Tensor] | str | None = _DEFAULT_ACTIVATION,
        init_weight: torch.Tensor | None = None,
        init_bias: torch.Tensor | None = None,
        module_input_name: str = "sentence_embedding",
        module_output_name: str | None = None,
        use_residual: bool = False,
    ) -> None:
        super().__init__()
        if activation_function is _DEFAULT_ACTIVATION:
            activation_function = nn.Tanh()
        if isinstance(activation_function, str):
            activation_function = load_activation(activation_function)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.bias = bool(bias)
        self.activation_function = nn.Identity() if activation_function is None else activation_function
        self.linear = nn.Linear(self.in_features, self.out_features, bias=self.bias)
        self.module_input_name = module_input_name
        self.module_output_name = module_output_name if module_output_name is not None else module_input_name
        self.use_residual = bool(use_residual)
        if self.use_residual and self.in_features != self.out_features:
            # the input cannot be added as is: project it, without bias, as the reference does
            self.residual = nn.Linear(self.in_features, self.out_features, bias=False)
        if init_weight is not None:
            self.linear.weight = nn.Parameter(torch.as_tensor(init_weight))
        if init_bias is not None:
            if not self.bias:
                raise ConfigError("init_bias was given to a Dense module built with bias=False.")
            self.linear.bias = nn.Parameter(torch.as_tensor(init_bias))

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        x = features[self.module_input_name]
        out = self.activation_function(self.linear(x))
        if self.use_residual:
            out = out + (x if self.in_features == self.out_features else self.residual(x))
        features[self.module_output_name] = out
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.out_features

    get_embedding_dimension = get_sentence_embedding_dimension

    def get_config_dict(self) -> dict[str, Any]:
        config = super().get_config_dict()
        config["activation_function"] = activation_path(self.activation_function)
        if self.use_residual:  # the reference writes the key only when set
            config["use_residual"] = True
        return config

    def extra_repr(self) -> str:
        return repr(self.get_config_dict())

    @classmethod
    def load(cls, path: str, *, trust_remote_code: bool = False, allow_pickle: bool = False, **kwargs: Any) -> Dense:
        config = read_json(os.path.join(path, cls.config_file_name))
        if isinstance(config.get("activation_function"), str):
            config["activation_function"] = load_activation(config["activation_function"],
                                                            trust_remote_code=trust_remote_code)
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - accepted)
        if unknown:  # a newer or foreign save with extra keys should still load
            logger.warning("Ignoring unrecognized Dense config key(s) %s in %r.", unknown, path)
            config = {k: v for k, v in config.items() if k in accepted}
        module = cls(**config)
        module.load_state_dict(load_state_dict(path, allow_pickle=allow_pickle))
        return module
