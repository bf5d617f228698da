"""Tiny random audio and video models: CLAP (audio-text), X-CLIP (video-text), Wav2Vec2 and HuBERT (audio).

Same conventions as ``models``: ``build_xxx(folder) -> Path`` writes a complete Hugging Face folder, deterministic
under ``torch.manual_seed(0)``; ``models`` re-exports everything here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._build import TINY, save_model_folder
from .toy_tokenizers import bpe_vocab_merges, clip_bpe_vocab_merges, roberta_bpe_tokenizer

__all__ = ["CLAP_SAMPLING_RATE", "build_clap", "build_hubert", "build_wav2vec2", "build_xclip"]

# Real CLAP runs at 48 kHz: keeping it means tests exercise resampling from the 16 kHz clips.
CLAP_SAMPLING_RATE = 48_000
# HTSAT folds the (frames x mels) spectrogram into a spec_size x spec_size "image" with freq_ratio =
# spec_size // mels, which needs frames <= spec_size * freq_ratio, and the Swin output's frequency rows
# (spec_size / patch_stride / 2 per extra stage = 8 here) must be >= freq_ratio. With 8 mels and spec_size 64 that
# allows 512 frames, so the hop is doubled to 960: 10 s at 48 kHz -> 501 frames, as many seconds as the real model.
_CLAP_MELS, _CLAP_SPEC, _CLAP_HOP, _CLAP_SECONDS = 8, 64, 960, 10
_CTC_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *"abcdefghijklmnopqrstuvwxyz"]
# Two conv layers, 10x downsampling (1 s at 16 kHz -> 1599 frames), instead of the real 7 layers / 320x.
_SPEECH_CONV: dict[str, Any] = {
    "conv_dim": (16, 16),
    "conv_stride": (5, 2),
    "conv_kernel": (10, 3),
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
}


def build_clap(folder: str | Path) -> Path:
    """Tiny ``ClapModel`` (projection 24) + ``ClapProcessor``: text (``RobertaTokenizer``, 32 tokens) and audio.

    Audio: ``ClapFeatureExtractor`` at 48 kHz, 8 mel bins, hop 960, 10 s windows, ``truncation="rand_trunc"``,
    ``padding="repeatpad"`` (laion/clap-htsat-unfused's settings, with fewer mels and a doubled hop). Clips
    shorter than 10 s are repeat-padded deterministically; **longer clips are cropped at a random offset**
    (``np.random``), a quirk of the real extractor. The HTSAT tower is a 2-stage Swin on a 64x64 spectrogram
    image (window 4).
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    vocab, merges = bpe_vocab_merges(roberta_bpe_tokenizer())
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=32)
    feature_extractor = ClapFeatureExtractor(
        feature_size=_CLAP_MELS,
        sampling_rate=CLAP_SAMPLING_RATE,
        hop_length=_CLAP_HOP,
        max_length_s=_CLAP_SECONDS,
        fft_window_size=1024,
        truncation="rand_trunc",
        padding="repeatpad",
    )
    text_config = {
        **TINY,
        "vocab_size": len(tokenizer),
        "max_position_embeddings": 32 + 2,  # RoBERTa positions start after padding_idx
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    audio_config = {
        "num_mel_bins": _CLAP_MELS,
        "spec_size": _CLAP_SPEC,
        "window_size": 4,
        "patch_size": 4,
        "patch_stride": (4, 4),
        "patch_embeds_hidden_size": 16,
        "depths": [1, 1],
        "num_attention_heads": [2, 2],
        "hidden_size": 32,  # = patch_embeds_hidden_size * 2 ** (stages - 1), the tower's output width
        "mlp_ratio": 2.0,
        "enable_fusion": False,
    }
    config = ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=24)
    processor = ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: ClapModel(config), processor)


def build_xclip(folder: str | Path, *, num_frames: int = 8) -> Path:
    """Tiny ``XCLIPModel`` (projection 24) + ``XCLIPProcessor``: text (``CLIPTokenizer``) and video.

    Video frames go through ``VideoMAEImageProcessor`` (32 px, CLIP mean/std), whose PIL backend works without
    torchvision: ``processor(videos=[frames, ...])`` with each video a list of HxWx3 uint8 frames (or a (T,H,W,3)
    array) gives ``pixel_values`` of shape (B, T, 3, 32, 32). **The model only accepts exactly ``num_frames``
    frames per video** (its temporal layers are sized from the config), so the library must sample that many; no
    transformers *video* processor is involved.
    """
    from transformers import CLIPTokenizer, VideoMAEImageProcessorPil, XCLIPConfig, XCLIPModel, XCLIPProcessor

    vocab, merges = clip_bpe_vocab_merges()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=16)
    image_processor = VideoMAEImageProcessorPil(
        size={"shortest_edge": 32},
        crop_size={"height": 32, "width": 32},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    projection_dim = 24
    text_config = {
        **TINY,
        "vocab_size": len(tokenizer),
        "max_position_embeddings": 16,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    vision_config = {
        **TINY,
        "image_size": 32,
        "patch_size": 8,
        "num_frames": num_frames,
        # The multi-frame integration transformer runs on projected frame features: its width must be projection_dim.
        "mit_hidden_size": projection_dim,
        "mit_intermediate_size": 37,
        "mit_num_hidden_layers": 1,
        "mit_num_attention_heads": 2,
    }
    config = XCLIPConfig(
        text_config=text_config,
        vision_config=vision_config,
        projection_dim=projection_dim,
        prompt_layers=1,
        prompt_num_attention_heads=2,
    )
    processor = XCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: XCLIPModel(config), processor)


def _speech_feature_extractor() -> Any:
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


def _ctc_processor(folder: Path) -> Any:
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2Processor

    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({token: i for i, token in enumerate(_CTC_VOCAB)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), word_delimiter_token="|")
    return Wav2Vec2Processor(feature_extractor=_speech_feature_extractor(), tokenizer=tokenizer)


def build_wav2vec2(folder: str | Path, *, with_tokenizer: bool = True) -> Path:
    """Tiny ``Wav2Vec2Model`` + ``Wav2Vec2FeatureExtractor`` (16 kHz, normalised, ``return_attention_mask=True``).

    ``with_tokenizer=True`` adds a 31-symbol character ``Wav2Vec2CTCTokenizer`` and saves a ``Wav2Vec2Processor``
    (like facebook/wav2vec2-base-960h). Without it the folder has only ``preprocessor_config.json`` (like
    facebook/wav2vec2-base), and **``AutoProcessor.from_pretrained`` raises a TypeError** in transformers 5.x
    (it insists on a tokenizer); the library must fall back to ``AutoFeatureExtractor``.
    """
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = Wav2Vec2Config(**TINY, **_SPEECH_CONV, vocab_size=len(_CTC_VOCAB), pad_token_id=0)
    processor = _ctc_processor(folder) if with_tokenizer else _speech_feature_extractor()
    return save_model_folder(folder, lambda: Wav2Vec2Model(config), processor)


def build_hubert(folder: str | Path, *, with_tokenizer: bool = False) -> Path:
    """Tiny ``HubertModel`` with the Wav2Vec2 feature extractor; by default no tokenizer, like
    facebook/hubert-base-ls960 (so ``AutoProcessor`` fails and ``AutoFeatureExtractor`` is the way in)."""
    from transformers import HubertConfig, HubertModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = HubertConfig(**TINY, **_SPEECH_CONV, vocab_size=len(_CTC_VOCAB), pad_token_id=0)
    processor = _ctc_processor(folder) if with_tokenizer else _speech_feature_extractor()
    return save_model_folder(folder, lambda: HubertModel(config), processor)
