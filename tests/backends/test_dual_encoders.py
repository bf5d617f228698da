"""Dual encoders on compiled backends: one graph per tower (text and image), equal to torch."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from omniembed import SentenceTransformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")

CAPTIONS = ["a photo of a cat", "a red square", "two dogs playing in the snow"]


@pytest.mark.parametrize("family", ["clip", "siglip"])
@pytest.mark.parametrize("backend", ["onnx", pytest.param("openvino", marks=pytest.mark.slow)])
def test_towers_equal_torch_and_save(model_dirs, images, tmp_path, family, backend):
    if backend == "openvino":
        pytest.importorskip("openvino")
    folder = shutil.copytree(model_dirs[family], tmp_path / family)
    items = CAPTIONS + list(images)
    expected = SentenceTransformer(str(folder), device="cpu").encode(items)
    model = SentenceTransformer(str(folder), backend=backend, device="cpu")
    assert sorted(model.transformers_model.methods) == ["get_image_features", "get_text_features"]
    got = model.encode(items)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    model.save(str(folder))
    names = {"onnx": ["image_model.onnx", "text_model.onnx"],
             "openvino": ["openvino_image_model.bin", "openvino_image_model.xml", "openvino_text_model.bin",
                          "openvino_text_model.xml"]}[backend]
    assert sorted(os.listdir(folder / backend)) == names
    reloaded = SentenceTransformer(str(folder), backend=backend, device="cpu", model_kwargs={"export": False})
    np.testing.assert_array_equal(reloaded.encode(items), got)
