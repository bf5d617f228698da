"""``backend="onnx"``: run a model's graphs in ONNX Runtime (the ``[onnx]`` extra).

Files follow the reference (:mod:`omniembed.backends.files`): ``onnx/model.onnx`` by default, another file with
``model_kwargs={"file_name": "onnx/model_qint8_avx512_vnni.onnx"}``; a folder without one is exported on load
(warning), and ``model.save(folder)`` writes the export to ``folder/onnx/``. Other ``model_kwargs``: ``provider``
(default: ONNX Runtime's first available), ``providers``, ``provider_options``, ``session_options`` (an
``onnxruntime.SessionOptions``), ``export``, ``subfolder``; the rest go to the torch model built for an export.

Example (``minilm_folder`` holds all-MiniLM-L6-v2; the first load exports it and warns):
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, backend="onnx", device="cpu")  # doctest: +SKIP
    >>> model.encode(["a cat"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

from typing import Any

from omniembed.backends import files as backend_files
from omniembed.backends.export import export_onnx
from omniembed.backends.loader import load_compiled
from omniembed.backends.session import CompiledModel
from omniembed.errors import ModelLoadError
from omniembed.optional import require

RUNTIME_KEYS = ("provider", "providers", "provider_options", "session_options")


def onnxruntime() -> Any:
    return require("onnxruntime", name="ONNX Runtime", purpose="The ONNX backend and its export helpers",
                   extra="onnx", spec="onnxruntime")


class OnnxModel(CompiledModel):
    """ONNX Runtime sessions behind the transformers call convention (see :class:`CompiledModel`)."""

    backend = "ONNX"

    @classmethod
    def from_files(cls, config: Any, files: dict[str, tuple[str, str]], graphs: dict[str, Any],
                   **session_kwargs: Any) -> OnnxModel:
        ort = onnxruntime()
        model = cls(config, {}, files)
        model.sessions = {}
        for method, (file, _) in files.items():
            session = make_session(ort, file, **session_kwargs)
            output = graphs[method].output
            names = tuple(i.name for i in session.get_inputs())
            model._runners[method] = (_runner(session, output), names, output)
            model.sessions[method] = session
        return model

    def companions(self, path: str) -> list[str]:
        # weights over 2 GB live beside the graph; both names are in use
        return [path, path + "_data", path + ".data"]


def _runner(session: Any, output: str):
    def run(feed):
        return session.run([output], feed)[0]
    return run


def load_onnx_model(path: str, config: Any, *, task: str, model_kwargs: dict, hub_kwargs: dict) -> OnnxModel:
    """The ``BACKENDS["onnx"]`` loader (see the module docstring)."""
    onnxruntime()
    return load_compiled(path, config, task=task, model_kwargs=model_kwargs, hub_kwargs=hub_kwargs,
                         files=backend_files.ONNX, runtime_keys=RUNTIME_KEYS,
                         export_graph=lambda model, spec, file: export_onnx(model, spec, file), model_class=OnnxModel)


def make_session(ort: Any, file: str, *, provider: str | None = None, providers: list | None = None,
                 provider_options: Any = None, session_options: Any = None) -> Any:
    if providers is None:
        providers = [provider or ort.get_available_providers()[0]]
        if providers[0] != "CPUExecutionProvider":
            providers.append("CPUExecutionProvider")
    options = provider_options
    if isinstance(provider_options, dict):
        options = [provider_options] + [{}] * (len(providers) - 1)
    try:
        return ort.InferenceSession(file, sess_options=session_options, providers=providers, provider_options=options)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, NoSuchFile…)
        raise ModelLoadError(f"ONNX Runtime could not load {file!r}: {exc}") from exc
