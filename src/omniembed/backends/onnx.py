"""``backend="onnx"``: run a model's graphs in ONNX Runtime (the ``[onnx]`` extra).

Files follow the reference (:mod:`omniembed.backends.files`): ``onnx/model.onnx`` by default, another file with
``model_kwargs={"file_name": "onnx/model_qint8_avx512_vnni.onnx"}``; a folder without one is exported on load
(warning), and ``model.save(folder)`` writes the export to ``folder/onnx/``. Other ``model_kwargs``: ``provider``
(default: ONNX Runtime's first available), ``provider_options``, ``session_options`` (an
``onnxruntime.SessionOptions``), ``export``, ``subfolder``; the rest go to the torch model built for an export.

Example (``minilm_folder`` holds all-MiniLM-L6-v2; the first load exports it and warns):
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, backend="onnx", device="cpu")  # doctest: +SKIP
    >>> model.encode(["a cat"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from omniembed.backends import files as backend_files
from omniembed.backends.export import export_onnx, spec_for
from omniembed.backends.plan import Graph, check_task, graphs_for
from omniembed.backends.session import CompiledModel
from omniembed.errors import ModelLoadError
from omniembed.optional import require

logger = logging.getLogger(__name__)

_SESSION_KEYS = ("provider", "providers", "provider_options", "session_options")
_FILE_KEYS = ("file_name", "subfolder", "export")


def onnxruntime():
    return require("onnxruntime", name="ONNX Runtime", purpose="The ONNX backend and its export helpers",
                   extra="onnx", spec="onnxruntime")


class OnnxModel(CompiledModel):
    """ONNX Runtime sessions behind the transformers call convention (see :class:`CompiledModel`)."""

    backend = "ONNX"

    def __init__(self, config: Any, sessions: dict[str, tuple[Any, str]], files: dict[str, tuple[str, str]]) -> None:
        runners = {}
        for method, (session, output) in sessions.items():
            names = tuple(i.name for i in session.get_inputs())
            runners[method] = (_runner(session, output), names, output)
        super().__init__(config, runners, files)
        self.sessions = {m: s for m, (s, _) in sessions.items()}

    def companions(self, path: str) -> list[str]:
        # weights over 2 GB live beside the graph; both names are in use
        return [path, path + "_data", path + ".data"]


def _runner(session: Any, output: str):
    def run(feed):
        return session.run([output], feed)[0]
    return run


def load_onnx_model(path: str, config: Any, *, task: str, model_kwargs: dict, hub_kwargs: dict) -> OnnxModel:
    """The ``BACKENDS["onnx"]`` loader (see the module docstring)."""
    ort = onnxruntime()
    check_task(task)
    kwargs = dict(model_kwargs)
    session_kwargs = {k: kwargs.pop(k) for k in _SESSION_KEYS if k in kwargs}
    file_kwargs = {k: kwargs.pop(k) for k in _FILE_KEYS if k in kwargs}
    choice = backend_files.locate(path, file_kwargs, backend_files.ONNX)
    if choice.export:
        sources = export_folder(path, config, task=task, torch_kwargs=kwargs, hub_kwargs=hub_kwargs)
        backend_files.warn_to_save(path, backend_files.ONNX)
    else:
        folder, name = os.path.split(choice.path)
        sources = {g.method: (os.path.join(folder, g.file_name), g) for g in graphs_for(config, task, name)}
    sessions, saved = {}, {}
    for method, (file, graph) in sources.items():
        if not os.path.isfile(file):
            raise ModelLoadError(f"The ONNX model needs {file!r} for its {method} graph, and it does not exist.")
        sessions[method] = (make_session(ort, file, **session_kwargs), graph.output)
        saved[method] = (file, os.path.join(backend_files.ONNX.folder, os.path.basename(file)))
    return OnnxModel(config, sessions, saved)


def make_session(ort: Any, file: str, *, provider: str | None = None, providers: list | None = None,
                 provider_options: Any = None, session_options: Any = None) -> Any:
    if providers is None:
        providers = [provider or ort.get_available_providers()[0]]
        if providers[0] != "CPUExecutionProvider":
            providers.append("CPUExecutionProvider")
    options = [provider_options] + [{}] * (len(providers) - 1) if isinstance(provider_options, dict) else provider_options
    try:
        return ort.InferenceSession(file, sess_options=session_options, providers=providers, provider_options=options)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, NoSuchFile…)
        raise ModelLoadError(f"ONNX Runtime could not load {file!r}: {exc}") from exc


def export_folder(path: str, config: Any, *, task: str, torch_kwargs: dict, hub_kwargs: dict,
                  file_name: str = backend_files.ONNX.default_file) -> dict[str, tuple[str, Graph]]:
    """Build the torch model from ``path`` and export each of its graphs to a temporary folder."""
    from omniembed.modules.loading import load_torch_model

    model = load_torch_model(path, config, task=task, model_kwargs=torch_kwargs, hub_kwargs=hub_kwargs)
    target = tempfile.mkdtemp(prefix="omniembed-onnx-")
    sources = {}
    for graph in graphs_for(config, task, os.path.basename(file_name)):
        file = os.path.join(target, graph.file_name)
        try:
            export_onnx(model, spec_for(model, graph.method, graph.output), file)
        except Exception as exc:  # the exporters raise many types; the message names the graph that failed
            raise ModelLoadError(
                f"Exporting {type(model).__name__}.{graph.method} of {path!r} to ONNX failed: {exc}. Use "
                "backend='torch' for this model."
            ) from exc
        sources[graph.method] = (file, graph)
    del model  # tracing may have altered it (see omniembed.backends.export)
    return sources
