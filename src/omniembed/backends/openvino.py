"""``backend="openvino"``: run a model's graphs with OpenVINO (the ``[openvino]`` extra).

Files follow the reference: ``openvino/openvino_model.xml`` (+ ``.bin``) by default, another with
``model_kwargs={"file_name": ...}``; a folder without one is exported on load (through ONNX, then OpenVINO's
converter; weights stay fp32) and ``model.save(folder)`` writes it to ``folder/openvino/``. Other ``model_kwargs``:
``ov_config`` (OpenVINO properties, e.g. ``{"PERFORMANCE_HINT": "LATENCY"}``; fp32 inference unless it sets
``INFERENCE_PRECISION_HINT``) and ``device`` (OpenVINO's device
name, default ``"CPU"``); the rest go to the torch model built for an export.

Example:
    >>> from omniembed.backends.openvino import OPENVINO_FILES
    >>> OPENVINO_FILES.default_file
    'openvino_model.xml'
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from omniembed.backends import files as backend_files
from omniembed.backends.export import AUDIO_INPUTS, IMAGE_INPUTS, TEXT_INPUTS, export_onnx
from omniembed.backends.loader import load_compiled
from omniembed.backends.session import CompiledModel
from omniembed.errors import ModelLoadError
from omniembed.optional import require

OPENVINO_FILES = backend_files.OPENVINO
RUNTIME_KEYS = ("ov_config", "device")
KNOWN_INPUTS = TEXT_INPUTS + IMAGE_INPUTS + AUDIO_INPUTS
# OpenVINO's CPU plugin runs in bf16 on CPUs that have it unless told otherwise: keep the torch backend's numbers
FP32 = {"INFERENCE_PRECISION_HINT": "f32"}


def openvino() -> Any:
    return require("openvino", name="OpenVINO", purpose="The OpenVINO backend and its helpers", extra="openvino",
                   spec="openvino")


class OpenVINOModel(CompiledModel):
    """Compiled OpenVINO models behind the transformers call convention (see :class:`CompiledModel`)."""

    backend = "OpenVINO"

    @classmethod
    def from_files(cls, config: Any, files: dict[str, tuple[str, str]], graphs: dict[str, Any], *,
                   ov_config: dict | None = None, device: str = "CPU") -> OpenVINOModel:
        ov = openvino()
        core = ov.Core()
        model = cls(config, {}, files)
        model.compiled = {}
        for method, (file, _) in files.items():
            try:
                compiled = core.compile_model(core.read_model(file), device, {**FP32, **(ov_config or {})})
            except RuntimeError as exc:
                raise ModelLoadError(f"OpenVINO could not load {file!r}: {exc}") from exc
            output = graphs[method].output
            names = tuple(_input_name(p) for p in compiled.inputs)
            model._runners[method] = (_runner(compiled, output), names, output)
            model.compiled[method] = compiled
        return model

    def companions(self, path: str) -> list[str]:
        return [path, os.path.splitext(path)[0] + ".bin"]


def _input_name(port: Any) -> str:
    """A port may carry several tensor names (the converter adds internal ones): prefer the processor's."""
    names = port.get_names()
    return next((n for n in KNOWN_INPUTS if n in names), port.get_any_name())


def _runner(compiled: Any, output: str):
    port = next((p for p in compiled.outputs if output in p.get_names()), compiled.outputs[0])

    def run(feed):
        # a fresh request per call: one compiled model may serve several threads
        return compiled.create_infer_request().infer(feed)[port]
    return run


def export_openvino(model: Any, spec: Any, file: str) -> None:
    """torch → ONNX (omniembed.backends.export) → OpenVINO IR, fp32 (``compress_to_fp16=False``)."""
    ov = openvino()
    with tempfile.TemporaryDirectory(prefix="omniembed-ov-") as tmp:
        onnx_file = export_onnx(model, spec, os.path.join(tmp, "model.onnx"))
        ov.save_model(ov.convert_model(onnx_file), file, compress_to_fp16=False)


def load_openvino_model(path: str, config: Any, *, task: str, model_kwargs: dict, hub_kwargs: dict) -> OpenVINOModel:
    """The ``BACKENDS["openvino"]`` loader (see the module docstring)."""
    openvino()
    return load_compiled(path, config, task=task, model_kwargs=model_kwargs, hub_kwargs=hub_kwargs,
                         files=OPENVINO_FILES, runtime_keys=RUNTIME_KEYS, export_graph=export_openvino,
                         model_class=OpenVINOModel)
