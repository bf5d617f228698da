"""What ``backend="onnx"`` and ``backend="openvino"`` share: find the graph files (or export them), open each one.

A backend supplies its :class:`~omniembed.backends.files.BackendFiles`, the ``model_kwargs`` keys that configure its
runtime, a function that writes one graph file from a torch model, and a class that opens files (a
:class:`~omniembed.backends.session.CompiledModel` subclass with ``from_files``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from omniembed.backends import files as backend_files
from omniembed.backends.export import spec_for
from omniembed.backends.plan import Graph, check_task, graphs_for
from omniembed.errors import ModelLoadError

logger = logging.getLogger(__name__)

FILE_KEYS = ("file_name", "subfolder", "export")


def load_compiled(path: str, config: Any, *, task: str, model_kwargs: dict, hub_kwargs: dict,
                  files: backend_files.BackendFiles, runtime_keys: tuple[str, ...],
                  export_graph: Callable[[Any, Any, str], None], model_class: Any) -> Any:
    """Locate or export the graphs of ``path`` and open them with ``model_class.from_files``."""
    check_task(task)
    kwargs = dict(model_kwargs)
    runtime_kwargs = {k: kwargs.pop(k) for k in runtime_keys if k in kwargs}
    file_kwargs = {k: kwargs.pop(k) for k in FILE_KEYS if k in kwargs}
    file_name = file_kwargs.get("file_name") or files.default_file
    graphs = graphs_for(config, task, file_name)
    probe = dict(file_kwargs, file_name=graphs[0].file_name) if graphs[0].file_name != file_name else file_kwargs
    choice = backend_files.locate(path, probe, files)
    if choice.export:
        sources = export_graphs(path, config, task=task, torch_kwargs=kwargs, hub_kwargs=hub_kwargs, graphs=graphs,
                                export_graph=export_graph, files=files)
        backend_files.warn_to_save(path, files)
    else:
        folder = os.path.dirname(choice.path)
        sources = {g.method: (os.path.join(folder, os.path.basename(g.file_name)), g) for g in graphs}
    for method, (file, _) in sources.items():
        if not os.path.isfile(file):
            raise ModelLoadError(f"The {files.name} model needs {file!r} for its {method} graph; it does not exist.")
    saved = {m: (file, os.path.join(files.folder, os.path.basename(file))) for m, (file, _) in sources.items()}
    graph_of = {m: g for m, (_, g) in sources.items()}
    return model_class.from_files(config, saved, graph_of, **runtime_kwargs)


def export_graphs(path: str, config: Any, *, task: str, torch_kwargs: dict, hub_kwargs: dict, graphs: list[Graph],
                  export_graph: Callable[[Any, Any, str], None],
                  files: backend_files.BackendFiles) -> dict[str, tuple[str, Graph]]:
    """Build the torch model from ``path`` and write each graph to a temporary folder with ``export_graph``."""
    from omniembed.modules.loading import load_torch_model

    model = load_torch_model(path, config, task=task, model_kwargs=torch_kwargs, hub_kwargs=hub_kwargs)
    target = tempfile.mkdtemp(prefix=f"omniembed-{files.folder}-")
    sources = {}
    for graph in graphs:
        file = os.path.join(target, os.path.basename(graph.file_name))
        try:
            export_graph(model, spec_for(model, graph.method, graph.output), file)
        except Exception as exc:  # the exporters raise many types; the message names the graph that failed
            raise ModelLoadError(
                f"Exporting {type(model).__name__}.{graph.method} of {path!r} to {files.name} failed: {exc}. Use "
                "backend='torch' for this model."
            ) from exc
        sources[graph.method] = (file, graph)
    del model  # tracing may have altered it (see omniembed.backends.export)
    return sources
