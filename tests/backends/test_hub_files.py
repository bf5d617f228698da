"""A hub download for a compiled backend keeps that backend's files (a torch load skips them)."""

from __future__ import annotations

import huggingface_hub

from omniembed.serialization.hub import resolve_model_folder


def test_backend_files_are_downloaded_only_for_their_backend(monkeypatch, tmp_path):
    calls = []

    def fake_snapshot(**kwargs):
        calls.append(kwargs["ignore_patterns"])
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for backend in ("torch", "onnx", "openvino"):
        assert resolve_model_folder("org/model", backend=backend) == str(tmp_path)
    torch_ignore, onnx_ignore, openvino_ignore = calls
    assert {"*.onnx", "onnx/*", "openvino/*"} <= set(torch_ignore)
    assert "onnx/*" not in onnx_ignore and "*.onnx" not in onnx_ignore and "openvino/*" in onnx_ignore
    assert "openvino/*" not in openvino_ignore and "onnx/*" in openvino_ignore
