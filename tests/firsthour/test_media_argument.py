"""``media=`` is checked at the door: the model's default, and every call's override."""

from __future__ import annotations

import pytest

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import ConfigError
from omniembed.inputs import FetchPolicy, MediaLimits, MediaOptions, VideoSampling


@pytest.fixture(scope="module")
def text_model(tiny_bert_dir):
    return SentenceTransformer(tiny_bert_dir, device="cpu")


@pytest.mark.parametrize(("value", "words"), [
    (FetchPolicy(enabled=False), r"got a FetchPolicy. Wrap it: media=MediaOptions\(fetch=FetchPolicy\(...\)\)"),
    (MediaLimits(), r"got a MediaLimits. Wrap it: media=MediaOptions\(limits=MediaLimits\(...\)\)"),
    (VideoSampling(), r"Wrap it: media=MediaOptions\(video=VideoSampling"),
    ("strict", r"takes a MediaOptions \(or a dict of its fields\), got str: 'strict'"),
    ({"fetch_policy": None}, r"unknown MediaOptions field\(s\) \['fetch_policy'\]"),
    ({"limits": {"max_seconds": 3}}, r"field 'limits': .*max_seconds"),
])
def test_wrong_media_objects_are_refused_before_any_work(text_model, tiny_bert_dir, value, words):
    with pytest.raises(ConfigError, match=words):
        text_model.encode(["a"], media=value)
    with pytest.raises(ConfigError, match=words):
        SentenceTransformer(tiny_bert_dir, device="cpu", media=value)
    with pytest.raises(ConfigError, match=words):
        text_model.media = value


def test_cross_encoder_checks_media_too(reranker_dir):
    with pytest.raises(ConfigError, match="got a FetchPolicy"):
        CrossEncoder(reranker_dir, device="cpu", media=FetchPolicy())
    model = CrossEncoder(reranker_dir, device="cpu")
    with pytest.raises(ConfigError, match="got a FetchPolicy"):
        model.predict([("a", "b")], media=FetchPolicy())
    with pytest.raises(ConfigError, match="got a FetchPolicy"):
        model.rank("a", ["b"], media=FetchPolicy())


def test_a_dict_of_fields_is_a_media_options(tiny_bert_dir):
    model = SentenceTransformer(tiny_bert_dir, device="cpu",
                                media={"limits": {"max_audio_seconds": 30}, "fetch": {"enabled": False}})
    assert model.media == MediaOptions(limits=MediaLimits(max_audio_seconds=30), fetch=FetchPolicy(enabled=False))
    assert model.call_context().media is model.media
    assert model.call_context(media={"draft": False}).media == MediaOptions(draft=False)


def test_media_options_checks_its_fetch_field():
    with pytest.raises(ConfigError, match="MediaOptions.fetch must be a FetchPolicy or None, got dict"):
        MediaOptions(fetch={"enabled": False})


def test_a_dict_media_option_really_applies(text_model, monkeypatch):
    """The converted dict is what the decoders see: a URL refused by fetch.enabled=False."""
    _, failures = text_model.encode(["a", {"image": "http://example.com/x.png"}], on_error="skip",
                                      return_failures=True, media={"fetch": {"enabled": False}})
    assert [f.index for f in failures] == [1]
