"""Every error omniembed raises is an OmniEmbedError that is also the builtin a user would catch, names the item,
and says what to do."""

from __future__ import annotations

import logging
import pathlib

import numpy as np
import pytest
import torch

from omniembed import SentenceTransformer
from omniembed.errors import (
    ConfigError,
    InputError,
    ItemProcessingError,
    MediaFetchError,
    MediaFileNotFoundError,
    OmniEmbedError,
    UnsupportedInputError,
    UnsupportedModalityError,
)
from omniembed.inputs import FetchPolicy, MediaOptions


@pytest.fixture(scope="module")
def clip(model_dirs):
    return SentenceTransformer(model_dirs["clip"], device="cpu")


def test_invalid_on_error_is_a_config_error(clip):
    with pytest.raises(ConfigError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        clip.encode(["a"], on_error="ignore")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_is_a_config_error(clip, model_dirs):
    for call in (lambda: clip.encode(["a"], device="cuda"),
                 lambda: SentenceTransformer(model_dirs["clip"], device="cuda")):
        with pytest.raises(ConfigError, match=r"device='cuda' is not available: .*Available here: cpu\."):
            call()
    with pytest.raises(ConfigError, match="device='gpu' is not a device torch knows"):
        clip.encode(["a"], device="gpu")
    assert clip.device == torch.device("cpu")  # nothing moved


def test_a_missing_path_is_a_file_not_found_error(clip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative path: error messages shorten long item descriptions
    missing = pathlib.Path("cat.png")
    with pytest.raises(FileNotFoundError) as info:
        clip.encode(["a cat", missing])
    assert isinstance(info.value, (MediaFileNotFoundError, ValueError, OmniEmbedError))
    assert str(info.value).startswith(f"Item 1 ({missing!r}): no such file: {str(missing)!r}")
    with pytest.raises(FileNotFoundError, match="Item 0"):
        clip.encode([{"image": str(missing)}])


def test_unsupported_type_lists_every_accepted_form(clip):
    with pytest.raises(UnsupportedInputError) as info:
        clip.encode(["a", 42])
    message = str(info.value)
    assert message.startswith("Item 1 (42): Unsupported input type: int. Expected one of: str, dict, PIL.Image.Image")
    for form in ("bytes", "pathlib.Path", "a binary file object", "chat messages", "docs/inputs.md"):
        assert form in message


def test_arrays_read_as_another_modality_say_how_to_pass_an_image(clip):
    gray = np.full((16, 16), 128, np.uint8)
    with pytest.raises(UnsupportedModalityError) as info:
        clip.encode(["a", gray])
    assert str(info.value).startswith("Item 1 (<ndarray shape=(16, 16)>): Modality 'audio' is not supported")
    assert "read as audio" in str(info.value) and "{'image': array}" in str(info.value)
    as_image = clip.encode([{"image": gray}])  # and the advice works
    assert as_image.shape == (1, clip.get_embedding_dimension()) and np.isfinite(as_image).all()

    batch = np.random.default_rng(0).integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    for array in (batch, batch.transpose(0, 3, 1, 2)):
        with pytest.raises(UnsupportedModalityError, match=r"read as one video .* pass list\(array\)"):
            clip.encode(array)
    one_by_one = clip.encode(list(batch))
    assert one_by_one.shape == (3, clip.get_embedding_dimension())
    np.testing.assert_allclose(one_by_one[1], clip.encode(batch[1]), rtol=1e-4, atol=1e-5)


def test_private_address_refusal_names_the_code_that_allows_it(clip):
    with pytest.raises(MediaFetchError) as info:
        clip.encode([{"image": "http://127.0.0.1:9/x.png"}])
    assert "media=MediaOptions(fetch=FetchPolicy(allow_private_hosts={'127.0.0.1'}))" in str(info.value)
    listed = MediaOptions(fetch=FetchPolicy(allowed_hosts={"10.0.0.1"}))
    with pytest.raises(MediaFetchError, match="allowed_hosts does not lift"):
        clip.encode([{"image": "http://10.0.0.1/x.png"}], media=listed)


def test_errors_inside_decoding_threads_stay_typed_and_counted(clip, monkeypatch, caplog):
    """A decoder bug (not an input error) in a worker thread: under skip, one typed failure for that item."""
    from omniembed.processing import batches

    real_init = batches.MediaLoader.__init__

    def flaky_init(self, jobs, decode, num_workers):
        def flaky(side, modality):
            if isinstance(side, np.ndarray) and side[0, 0, 0] == 7:
                raise KeyError("decoder bug")
            return decode(side, modality)

        real_init(self, jobs, flaky, num_workers)

    monkeypatch.setattr(batches.MediaLoader, "__init__", flaky_init)
    images = [np.full((8, 8, 3), value, np.uint8) for value in (1, 7, 2, 7)]
    with caplog.at_level(logging.WARNING, logger="omniembed"):
        emb, failures = clip.encode(["a", *images], on_error="skip", return_failures=True, num_workers=2)
    assert [f.index for f in failures] == [2, 4]
    for failure in failures:
        assert isinstance(failure.error, ItemProcessingError)
        assert isinstance(failure.error, (InputError, RuntimeError, OmniEmbedError))
        assert isinstance(failure.error.__cause__, KeyError)
    assert np.isnan(emb[[2, 4]]).all() and np.isfinite(emb[[0, 1, 3]]).all()
    assert "2 of 5 inputs failed and were skipped" in caplog.text
    with pytest.raises(ItemProcessingError, match=r"^Item 2 .*KeyError: 'decoder bug'"):
        clip.encode(["a", *images], num_workers=2)
