"""Let Optimum's ONNX Runtime models import under transformers 5 — in the *reference* environment only.

``sentence-transformers[onnx]`` cannot be installed next to transformers 5: every ``optimum-onnx`` release pins
``transformers<4.58``. The benchmark's reference venv therefore has ``optimum==2.1.0`` and ``optimum-onnx==0.1.0``
installed with ``--no-deps``. Their *exporter* needs transformers 4 internals; loading an already exported
``onnx/model.onnx`` (all the benchmark does) does not, but the modules import four names that moved or went away.
This puts import-time stand-ins for them before ``sentence_transformers`` is imported; nothing here runs during
inference. Never imported by omniembed.
"""

from __future__ import annotations


def install() -> None:
    import huggingface_hub
    import torch
    from transformers import modeling_utils, utils
    from transformers.utils import generic

    if not hasattr(utils, "is_offline_mode"):
        utils.is_offline_mode = huggingface_hub.is_offline_mode
    if not hasattr(modeling_utils, "get_parameter_dtype"):
        modeling_utils.get_parameter_dtype = lambda module: next(
            (p.dtype for p in module.parameters()), torch.float32)
    if not hasattr(generic, "_CAN_RECORD_REGISTRY"):
        generic._CAN_RECORD_REGISTRY = {}
    if not hasattr(generic, "OutputRecorder"):
        generic.OutputRecorder = type("OutputRecorder", (), {})
