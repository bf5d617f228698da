"""A compiled model behind the transformers call convention, so ``Transformer.forward`` runs it unchanged.

:class:`CompiledModel` holds one runner per model method (``forward`` for a text model or a CrossEncoder,
``get_text_features`` / ``get_image_features`` for the towers of a dual encoder). Calling it with the processor's
torch tensors returns an output mapping (``last_hidden_state`` / ``logits`` / ``pooler_output``) of torch tensors.
Subclasses (ONNX Runtime, OpenVINO) supply the runner and how files are saved.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from omniembed.errors import ConfigError

_DEFAULTS = {"token_type_ids": torch.zeros_like, "attention_mask": torch.ones_like}
# A runner: numpy inputs by name → the output array
Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


class CompiledModel:
    """``config`` plus runners (see the module docstring); ``files`` maps each method to the file it came from."""

    backend: str = "compiled"

    def __init__(self, config: Any, runners: dict[str, tuple[Runner, tuple[str, ...], str]],
                 files: dict[str, tuple[str, str]]) -> None:
        self.config = config
        self._runners = runners  # method → (runner, input names, output name)
        self.files = files  # method → (path it was loaded from, path relative to the model folder to save under)

    # -- calling --------------------------------------------------------------------------------------------
    def __call__(self, **inputs: Any) -> dict[str, torch.Tensor]:
        return self.run("forward", inputs)

    def __getattr__(self, name: str) -> Any:
        runners = self.__dict__.get("_runners", {})
        if name in runners and name != "forward":
            return lambda **inputs: self.run(name, inputs)
        raise AttributeError(name)

    def run(self, method: str, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        runner, names, output = self._runners[method]
        feed = {}
        for name in names:
            value = inputs.get(name)
            if value is None and name in _DEFAULTS and torch.is_tensor(inputs.get("input_ids")):
                # what transformers assumes when the input is left out (SigLIP's processor gives no mask)
                value = _DEFAULTS[name](inputs["input_ids"])
            if value is None:
                raise ConfigError(f"The {self.backend} model needs the input {name!r}; the processor did not "
                                  "produce it.")
            feed[name] = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
        return {output: torch.from_numpy(np.ascontiguousarray(runner(feed)))}

    @property
    def methods(self) -> list[str]:
        return list(self._runners)

    # -- what the rest of omniembed asks of a model -----------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, *args: Any, **kwargs: Any) -> CompiledModel:
        return self

    def eval(self) -> CompiledModel:
        return self

    def save_pretrained(self, output_path: str, **unused: Any) -> None:
        """Write ``config.json`` and each model file under its name in the backend's folder (``onnx/…``)."""
        os.makedirs(output_path, exist_ok=True)
        self.config.save_pretrained(output_path)
        for source, relative in self.files.values():
            target = os.path.join(output_path, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            for src, dst in zip(self.companions(source), self.companions(target)):
                if os.path.exists(src) and os.path.abspath(src) != os.path.abspath(dst):
                    shutil.copyfile(src, dst)

    def companions(self, path: str) -> list[str]:
        """The files that make up one model file (an OpenVINO ``.xml`` has its ``.bin``)."""
        return [path]

    def __repr__(self) -> str:
        names = {m: rel for m, (_, rel) in self.files.items()}
        return f"{type(self).__name__}({getattr(self.config, 'model_type', '?')}, files={names})"
