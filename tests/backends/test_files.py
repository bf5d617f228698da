"""Which file a backend loads, and when it exports instead (the reference's lookup rules)."""

from __future__ import annotations

import logging
import os

import pytest

from omniembed.backends.files import ONNX, OPENVINO, locate
from omniembed.errors import ModelLoadError


def touch(folder, *names):
    for name in names:
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()


def test_default_file_in_the_backend_folder(tmp_path):
    touch(tmp_path, "onnx/model.onnx")
    choice = locate(str(tmp_path), {}, ONNX)
    assert (choice.export, choice.path, choice.relative) == (False, str(tmp_path / "onnx/model.onnx"),
                                                             "onnx/model.onnx")


def test_root_file_wins_over_the_backend_folder(tmp_path):
    touch(tmp_path, "model.onnx", "onnx/model.onnx")
    assert locate(str(tmp_path), {}, ONNX).path == str(tmp_path / "model.onnx")


def test_file_name_with_folder_and_subfolder(tmp_path):
    touch(tmp_path, "onnx/model_qint8_avx512_vnni.onnx", "onnx/model.onnx", "sub/onnx/model_O3.onnx")
    chosen = locate(str(tmp_path), {"file_name": "onnx/model_qint8_avx512_vnni.onnx"}, ONNX)
    assert chosen.path == str(tmp_path / "onnx/model_qint8_avx512_vnni.onnx")
    assert chosen.relative == "onnx/model_qint8_avx512_vnni.onnx"
    in_sub = locate(str(tmp_path), {"subfolder": "sub", "file_name": "model_O3.onnx"}, ONNX)
    assert in_sub.path == str(tmp_path / "sub/onnx/model_O3.onnx")


def test_several_files_warn_and_default_to_model_onnx(tmp_path, caplog):
    touch(tmp_path, "onnx/model.onnx", "onnx/model_O3.onnx")
    with caplog.at_level(logging.WARNING, logger="omniembed.backends.files"):
        choice = locate(str(tmp_path), {}, ONNX)
    assert choice.path.endswith("onnx/model.onnx")
    assert "Multiple ONNX files found" in caplog.text and "defaulting to 'onnx/model.onnx'" in caplog.text


def test_no_file_means_export_with_the_reference_warnings(tmp_path, caplog):
    touch(tmp_path, "onnx/model_O3.onnx")
    with caplog.at_level(logging.WARNING, logger="omniembed.backends.files"):
        choice = locate(str(tmp_path), {"file_name": "model_O4.onnx"}, ONNX)
    assert choice.export and choice.path is None and choice.relative == "onnx/model.onnx"
    assert "No 'model_O4.onnx' found in" in caplog.text and "Exporting the model to ONNX." in caplog.text
    assert '`model_kwargs={"file_name": "onnx/model_O3.onnx"}`' in caplog.text


def test_export_flags(tmp_path):
    touch(tmp_path, "openvino/openvino_model.xml")
    assert locate(str(tmp_path), {"export": True}, OPENVINO).export is True
    assert locate(str(tmp_path), {}, OPENVINO).path == str(tmp_path / "openvino/openvino_model.xml")
    with pytest.raises(ModelLoadError, match="export=False"):
        locate(str(tmp_path), {"export": False}, ONNX)
