"""omniembed.modality: the key of a combination, normalisation, the reference's ``supports`` table and its texts."""

from __future__ import annotations

import pytest

from omniembed.errors import ConfigError, UnsupportedModalityError
from omniembed.modality import check_supported, modality_key, normalize_modality, parse_modality_key, supports

# fmt: off
SUPPORTS = [
    (["text"], "text", True), (["text"], "image", False), (["text", "image"], "text", True),
    (["text", "image"], "image", True), (["text", "image"], "audio", False), (["text", "message"], "image", False),
    (["text", ("image", "text")], ("image", "text"), True), (["text", "image"], ("image", "text"), False),
    (["text", "audio"], ("audio", "text"), False), (["text", "image", "message"], ("image", "text"), True),
    (["text", "audio", "message"], ("audio", "text"), True),
    (["text", "image", "audio", "message"], ("image", "text"), True),
    (["text", "image", "audio", "message"], ("audio", "text"), True),
    (["text", "image", "audio", "message"], ("audio", "image"), True),
    (["text", "image", "audio", "message"], ("audio", "image", "text"), True),
    (["text", "message"], ("image", "text"), False), (["text", "image", "message"], ("audio", "text"), False),
    (["text", "image", "message"], ("video", "text"), False),
    (["text", "image", "audio", "video", "message"], ("video", "audio", "image", "text"), True),
    (["text", "image", "audio", "video", "message"], "video", True),
    (["text", "image", "audio", "video", "message"], "message", True),
    (["text", "message"], "message", True), (["text"], "message", False),
]
# fmt: on




@pytest.mark.parametrize(("modalities", "modality", "expected"), SUPPORTS)
def test_supports_table(modalities, modality, expected):
    assert supports(modalities, modality) is expected


@pytest.mark.parametrize(
    ("given", "normal"),
    [("text", "text"), ("text+image", ("image", "text")), (("text", "image"), ("image", "text")),
     (["audio"], "audio"), (("video", "audio", "text"), ("audio", "text", "video")), (None, None)],
)
def test_normalize_modality(given, normal):
    assert normalize_modality(given) == normal


def test_keys_round_trip_and_bad_modalities_are_config_errors():
    for modality in ("text", ("audio", "text"), ("image", "text", "video")):
        assert parse_modality_key(modality_key(modality)) == modality
    assert modality_key(("image", "text")) == "image+text"
    with pytest.raises(ConfigError, match="Invalid modality 3"):
        normalize_modality(3)


# fmt: off
CHECKS = [
    ("image", ["text"], {}, "Modality 'image' is not supported by this SentenceTransformer model. "
     "Supported modalities: text."),
    (("image", "text"), ["text"], {}, "Modality 'image+text' is not supported by this SentenceTransformer "
     "model. Supported modalities: text."),
    ("video", ["audio", ("audio", "text")], {}, "Modality 'video' is not supported by this "
     "SentenceTransformer model. Supported modalities: audio, audio+text."),
    (("image", "text"), ["text", "image"], {}, "This SentenceTransformer model supports image and text "
     "individually, but cannot combine them in a single input. Encode each modality separately (one call per "
     "modality)."),
    ("message", ["text"], {}, "This SentenceTransformer model does not support chat-style 'message' inputs "
     "(dicts or lists of dicts with 'role' and 'content'). Supported modalities: text."),
    ("audio", ["text", "image"], {"owner": "CrossEncoder model"}, "Modality 'audio' is not supported by "
     "this CrossEncoder model. Supported modalities: text, image."),
]
# fmt: on


@pytest.mark.parametrize(("modality", "supported", "kwargs", "message"), CHECKS, ids=range(len(CHECKS)))
def test_check_supported_texts(modality, supported, kwargs, message):
    with pytest.raises(UnsupportedModalityError) as info:
        check_supported(modality, supported, **kwargs)
    assert str(info.value) == message and isinstance(info.value, ValueError)


def test_check_supported_passes():
    assert check_supported("image", ["text", "image"]) is None
    assert check_supported(("image", "text"), ["text", "image", "message"]) is None
