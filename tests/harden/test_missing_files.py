"""Strings that look like media paths but name no file: same embeddings as the reference (text), one warning
per call by default, a typed per-item error with missing_files="error", silence with "text"."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from support import media

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import MediaDecodeError
from omniembed.inputs import MediaOptions
from omniembed.inputs.missing import looks_like_missing_media

LOGGER = "omniembed.inputs.missing"


@pytest.fixture(scope="module")
def clip(clip_dir):
    return SentenceTransformer(clip_dir, device="cpu")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "cat.png"
    path.write_bytes(media.encode_image(media.mode_image("RGB", (32, 32)), "PNG"))
    return str(path)


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.mark.parametrize(("text", "supported", "expected"), [
    ("photos/catt.jpg", ["text", "image"], True),
    ("CATT.JPEG", ["text", "image"], True),
    ("song.flac", ["text", "audio"], True),
    ("clip.mkv", ["text", "video"], True),
    ("song.flac", ["text", "image"], False),  # the model cannot use audio: the string is text either way
    ("a photo of a cat.jpg", ["text", "image"], False),  # whitespace: prose
    ("https://example.com/missing.jpg", ["text", "image"], False),  # URLs are fetched, not looked up
    ("data:image/png;base64,AAAA", ["text", "image"], False),
    (".jpg", ["text", "image"], False),  # just the extension
    ("report.pdf", ["text", "image"], True),  # a PDF is a document on models that take images
    ("report.pdf", ["text", "audio"], False),
    ("notes.txt", ["text", "image"], False),
    ("cat\x00.jpg", ["text", "image"], True),  # not a usable path either
])
def test_what_looks_like_a_missing_media_path(text, supported, expected):
    assert looks_like_missing_media(text, supported) is expected


def test_default_warns_once_per_call_and_keeps_the_reference_result(clip, photo, caplog):
    texts = ["photos/catt.jpg", "a cat", "dogg.png", photo]
    caplog.set_level(logging.WARNING, logger=LOGGER)
    emb = clip.encode(texts)
    messages = warnings_of(caplog)
    assert len(messages) == 1
    assert "2 input(s) look like media file paths" in messages[0]
    assert "0: 'photos/catt.jpg'" in messages[0] and "2: 'dogg.png'" in messages[0] and photo not in messages[0]
    # the embeddings are exactly those of the strings as text (the reference's behaviour)
    as_text = clip.encode(["photos/catt.jpg", "dogg.png"], media=MediaOptions(missing_files="text"))
    np.testing.assert_array_equal(emb[[0, 2]], as_text)
    np.testing.assert_array_equal(emb[3], clip.encode(media.encode_image(media.mode_image("RGB", (32, 32)), "PNG")))


def test_text_mode_is_silent(clip, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    clip.encode(["photos/catt.jpg"], media=MediaOptions(missing_files="text"))
    assert warnings_of(caplog) == []


def test_text_only_models_never_warn(caplog, tmp_path):
    from support.models import build_bert

    from omniembed.modules import Normalize, Pooling, Transformer

    bert = Transformer(str(build_bert(tmp_path / "bert")))
    model = SentenceTransformer(modules=[bert, Pooling(bert.get_word_embedding_dimension()), Normalize()],
                                device="cpu")
    caplog.set_level(logging.WARNING, logger=LOGGER)
    model.encode(["photos/catt.jpg"])
    assert warnings_of(caplog) == []


def test_error_mode_raises_a_typed_error_naming_the_item(clip, photo):
    strict = MediaOptions(missing_files="error")
    with pytest.raises(MediaDecodeError, match=r"^Item 1 \('dogg.png'\): no such file: 'dogg.png' looks like") as info:
        clip.encode(["a cat", "dogg.png", photo], media=strict)
    assert isinstance(info.value, ValueError) and info.value.index == 1
    emb, failures = clip.encode(["a cat", "dogg.png", photo, "x/y.webp"], media=strict, on_error="skip",
                                return_failures=True)
    assert [f.index for f in failures] == [1, 3]
    assert np.isnan(emb[[1, 3]]).all() and np.isfinite(emb[[0, 2]]).all()


def test_model_level_option_applies(clip_dir):
    strict = SentenceTransformer(clip_dir, device="cpu", media=MediaOptions.untrusted(isolation="none"))
    with pytest.raises(MediaDecodeError, match="no such file"):
        strict.encode("photos/catt.jpg")


def test_cross_encoder_pairs(caplog, tmp_path):
    from support.models import build_llava

    from omniembed.modules import LogitScore, Transformer

    logits = {"method": "forward", "method_output_name": "logits"}
    transformer = Transformer(str(build_llava(tmp_path / "llava")), transformer_task="any-to-any",
                              module_output_name="causal_logits",
                              modality_config={"text": logits, "image": logits,
                                               "message": {**logits, "format": "structured"}})
    tok = transformer.tokenizer
    model = CrossEncoder(modules=[transformer, LogitScore(tok.convert_tokens_to_ids("yes"),
                                                          tok.convert_tokens_to_ids("no"))], device="cpu")
    caplog.set_level(logging.WARNING, logger=LOGGER)
    pairs = [("a cat", "kitten.jpg"), ("a cat", "a dog")]
    scores = model.predict(pairs)
    assert len(warnings_of(caplog)) == 1 and "0: 'kitten.jpg'" in warnings_of(caplog)[0]
    scores2, failures = model.predict(pairs, media=MediaOptions(missing_files="error"), on_error="skip",
                                      return_failures=True)
    assert [f.index for f in failures] == [0] and np.isnan(scores2[0]) and scores2[1] == pytest.approx(scores[1])


def test_explicit_text_is_never_screened(clip):
    """``{"text": "cat.jpg"}`` is the documented way to say "this string is text" (the server wraps every plain
    string so): it is embedded as text even under missing_files="error", with the same vector as the bare string
    under "text"."""
    strict = MediaOptions(missing_files="error")
    explicit = clip.encode([{"text": "photos/catt.jpg"}, {"text": "report.pdf"}], media=strict)
    bare = clip.encode(["photos/catt.jpg", "report.pdf"], media=MediaOptions(missing_files="text"))
    np.testing.assert_array_equal(explicit, bare)
    with pytest.raises(MediaDecodeError, match=r"^Item 1 .*no such file: 'report\.pdf'"):
        clip.encode([{"text": "photos/catt.jpg"}, "report.pdf"], media=strict)
