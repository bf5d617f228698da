"""The reference's compiled backends: ``backend="onnx"`` (ONNX Runtime) and ``backend="openvino"``.

``SentenceTransformer(path, backend="onnx")`` and ``CrossEncoder(path, backend="onnx")`` load ``onnx/model.onnx``
(or ``model_kwargs={"file_name": ...}``), exporting the torch model on first load when the folder has none;
``model.save(path)`` keeps the export. The helpers below write optimised / quantised variants next to it. Only the
model's graphs change: tokenisation, pooling and the rest of ``encode`` / ``predict`` are the same code as with
torch. See docs/backends.md.

Example:
    >>> from omniembed.backends import export_dynamic_quantized_onnx_model, export_optimized_onnx_model
    >>> callable(export_dynamic_quantized_onnx_model) and callable(export_optimized_onnx_model)
    True
"""

from omniembed.backends.optimize import export_optimized_onnx_model
from omniembed.backends.quantize import export_dynamic_quantized_onnx_model, export_static_quantized_openvino_model

__all__ = ["export_dynamic_quantized_onnx_model", "export_optimized_onnx_model", "export_static_quantized_openvino_model"]
