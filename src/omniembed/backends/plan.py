"""Which graphs a model needs on a compiled backend, and the file each one lives in.

A text model or a CrossEncoder is one graph (``forward``) in ``file_name`` (``model.onnx``). A dual encoder (CLIP,
SigLIP, ALIGN…: a ``text_config`` and a ``vision_config`` under a ``…Model`` architecture) is one graph per tower,
``get_text_features`` in ``text_<file_name>`` and ``get_image_features`` in ``image_<file_name>``
(``onnx/text_model.onnx``, ``onnx/image_model.onnx``; OpenVINO's ``openvino_text_model.xml``, as its files must
start with ``openvino``); each returns the projected embedding as ``pooler_output``.

Example:
    >>> import transformers
    >>> [(g.method, g.file_name) for g in graphs_for(transformers.BertConfig(), "feature-extraction", "model.onnx")]
    [('forward', 'model.onnx')]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from omniembed.errors import ConfigError

#: tasks a compiled backend runs (the reference's set); the output each one reads
TASK_OUTPUTS = {
    "feature-extraction": "last_hidden_state",
    "sequence-classification": "logits",
    "fill-mask": "logits",
    "text-generation": "logits",
}
TOWERS = {"text": "get_text_features", "image": "get_image_features"}


@dataclass(frozen=True)
class Graph:
    """One exported graph: the model ``method``, the ``output`` it gives, and its ``file_name``."""

    method: str
    output: str
    file_name: str


def check_task(task: str) -> None:
    if task not in TASK_OUTPUTS:
        raise ConfigError(f"Unsupported task: {task}. Supported tasks: {', '.join(TASK_OUTPUTS)}")


def is_dual_encoder(config: Any, task: str) -> bool:
    architectures = getattr(config, "architectures", None) or []
    return (task == "feature-extraction" and getattr(config, "text_config", None) is not None
            and getattr(config, "vision_config", None) is not None
            and (not architectures or architectures[0].endswith("Model")))


def graphs_for(config: Any, task: str, file_name: str) -> list[Graph]:
    check_task(task)
    if is_dual_encoder(config, task):
        folder, base = os.path.split(file_name)
        return [Graph(method, "pooler_output", os.path.join(folder, tower_file(tower, base)))
                for tower, method in TOWERS.items()]
    return [Graph("forward", TASK_OUTPUTS[task], file_name)]


def tower_file(tower: str, base: str) -> str:
    if base.startswith("openvino"):
        return base.replace("openvino", f"openvino_{tower}", 1)
    return f"{tower}_{base}"
