"""GenerativeScore: a speech encoder–decoder (Whisper) as an audio↔text cross-encoder.

The score of an (audio, text) pair is the **mean log-probability of the text given the audio** under the
decoder: the decoder reads ``prefix + tokens(" " + text)`` (Whisper tiny.en: ``[<|startoftranscript|>,
<|notimestamps|>] = [50257, 50362]``) and is scored on ``tokens(" " + text) + [<|endoftext|>]``. It matches
transcripts, not meaning: "a dog barking" will not match a recording of a bark, but the spoken sentence wins.

Either side of the pair may be the audio; the other must be text, so ``rank(audio, texts)`` ranks captions for
a clip and ``rank(text, clips)`` ranks clips for a sentence. Each distinct clip in a batch is encoded once.
A ``prompt`` becomes Whisper's previous-context prompt (``<|startofprev|> prompt``), which is not scored.

The model and its processor are saved in the root folder with ``generative_score_config.json``; the reference
library has no such module, so such a folder loads in omniembed only.

Example (``whisper_folder`` holds Whisper tiny.en; ``hello.wav`` says "Hello world, this is a test…"):
    >>> import os
    >>> from omniembed import CrossEncoder
    >>> model = CrossEncoder(whisper_folder, device="cpu")
    >>> hello = os.path.join(speech_folder, "hello.wav")
    >>> [entry["corpus_id"] for entry in model.rank(hello, ["The stock market fell.", "Hello world."])]
    [1, 0]
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, ClassVar

import numpy as np
import torch

from omniembed.errors import ConfigError, UnsupportedModalityError
from omniembed.modules import loading
from omniembed.modules.base import Module, read_json, write_json

CONFIG_NAME = "generative_score_config.json"


def is_speech_seq2seq(config: Any) -> bool:
    """True for configs that ``AutoModelForSpeechSeq2Seq`` builds (Whisper, Speech2Text…)."""
    from transformers import MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING

    architectures = getattr(config, "architectures", None) or []
    # A saved encoder alone (architectures ["WhisperEncoder"]) has no decoder to score with.
    return type(config) in MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING and any(
        a.endswith("ForConditionalGeneration") for a in architectures
    )


class GenerativeScore(Module):
    """Scores (audio, text) pairs by mean log p(text | audio); writes ``scores`` (B, 1). See the module docstring."""

    config_file_name: ClassVar[str] = CONFIG_NAME
    save_in_root: ClassVar[bool] = True
    #: A mean log-probability is already a meaningful score; squashing it through a sigmoid only hides that.
    default_activation_fn: ClassVar[str] = "torch.nn.modules.linear.Identity"
    num_labels: ClassVar[int] = 1

    def __init__(
        self,
        model_name_or_path: str,
        *,
        decoder_prefix_ids: list[int] | None = None,
        max_text_tokens: int | None = None,
        model_kwargs: dict | None = None,
        processor_kwargs: dict | None = None,
        config_kwargs: dict | None = None,
        cache_dir: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        **unused: Any,
    ) -> None:
        super().__init__()
        from transformers import AutoModelForSpeechSeq2Seq

        hub = {"cache_dir": cache_dir, "revision": revision, "local_files_only": local_files_only, "token": token,
               "trust_remote_code": trust_remote_code}
        self.config = loading.load_config(model_name_or_path, config_kwargs={"use_cache": False, **(config_kwargs or {})},
                                          hub_kwargs=hub)
        kwargs = {"dtype": torch.float32, **(model_kwargs or {})}  # fp32 unless asked, as for Transformer
        # strict: a checkpoint that does not match would score with random weights, silently.
        self.auto_model = loading.from_pretrained_checked(AutoModelForSpeechSeq2Seq, model_name_or_path, self.config,
                                                          kwargs, hub, strict=True)
        self.processor = loading.load_processor(model_name_or_path, processor_kwargs=processor_kwargs or {},
                                                hub_kwargs=hub)
        if getattr(self.processor, "feature_extractor", None) is None or self.tokenizer is self.processor:
            raise ConfigError(f"{model_name_or_path!r} has no speech processor (feature extractor + tokenizer).")
        if decoder_prefix_ids is None:
            prefix = getattr(self.tokenizer, "prefix_tokens", None)
            start = getattr(self.config, "decoder_start_token_id", None)
            decoder_prefix_ids = list(prefix) if prefix else [start]
        self.decoder_prefix_ids = [int(i) for i in decoder_prefix_ids]
        limit = getattr(self.config, "max_target_positions", None) or 448
        self.max_text_tokens = max_text_tokens or limit - len(self.decoder_prefix_ids) - 1

    # -- introspection --------------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def modalities(self) -> list[str]:
        return ["audio", "text"]

    @property
    def max_seq_length(self) -> int:
        return self.max_text_tokens

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.max_text_tokens = int(value)

    @property
    def sampling_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    def media_hints(self, modality: Any = None, processing_kwargs: dict | None = None) -> dict[str, Any]:
        """What ``inputs.load_item`` should produce for this model: audio at the feature extractor's rate."""
        return {"sampling_rate": self.sampling_rate}

    def check_pair(self, modalities: tuple[Any, Any]) -> None:
        """Raise unless one side is audio and the other text (the only pairs a speech decoder can score)."""
        if sorted(map(str, modalities)) != ["audio", "text"]:
            shown = ", ".join("+".join(m) if isinstance(m, tuple) else m for m in modalities)
            raise UnsupportedModalityError(
                f"This CrossEncoder model scores (audio, text) pairs (either order), got ({shown}). "
                "Supported modalities: audio, text."
            )

    # -- preprocessing --------------------------------------------------------------------------------------
    def preprocess_pairs(
        self,
        pairs: list[tuple[Any, Any]],
        modalities: list[tuple[Any, Any]],
        prompt: str | None = None,
        **unused: Any,
    ) -> dict[str, Any]:
        """Decoded pairs (an ``AudioClip`` and a ``str`` each) → encoder features + decoder inputs and targets."""
        clips, texts = [], []
        for pair, mods in zip(pairs, modalities):
            self.check_pair(mods)
            audio_side = 0 if mods[0] == "audio" else 1
            clips.append(pair[audio_side])
            texts.append(pair[1 - audio_side])
        unique, audio_index = _dedupe_clips(clips)
        arrays = [np.asarray(getattr(c, "array", c), dtype=np.float32) for c in unique]
        features = dict(self.processor.feature_extractor(arrays, sampling_rate=self.sampling_rate,
                                                         return_tensors="pt"))
        context = list(self.tokenizer.get_prompt_ids(prompt)) if prompt and hasattr(self.tokenizer, "get_prompt_ids") \
            else []
        prefix = context + self.decoder_prefix_ids
        eos = self.tokenizer.eos_token_id
        rows = []
        for text in texts:
            ids = self.tokenizer(" " + text.strip(), add_special_tokens=False)["input_ids"][: self.max_text_tokens]
            rows.append(prefix + list(ids) + [eos])
        width = max(len(r) for r in rows) - 1
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        decoder_input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        decoder_mask = torch.zeros((len(rows), width), dtype=torch.long)
        targets = torch.full((len(rows), width), pad, dtype=torch.long)
        target_mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, row in enumerate(rows):
            n = len(row) - 1  # inputs drop the last token; targets drop the first
            decoder_input_ids[i, :n] = torch.tensor(row[:-1])
            decoder_mask[i, :n] = 1
            targets[i, :n] = torch.tensor(row[1:])
            target_mask[i, len(prefix) - 1 : n] = True  # score the text and the end-of-text, never the prefix
        features.update(
            audio_index=torch.tensor(audio_index, dtype=torch.long), decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_mask, target_ids=targets, target_mask=target_mask,
        )
        features["modality"] = ("audio", "text")
        return features

    # -- forward --------------------------------------------------------------------------------------------
    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        encoder = self.auto_model.get_encoder()
        encoded = encoder(input_features=features["input_features"].to(self.auto_model.dtype)).last_hidden_state
        encoded = encoded.index_select(0, features["audio_index"])  # one encoder pass per distinct clip
        logits = self.auto_model(
            encoder_outputs=(encoded,), decoder_input_ids=features["decoder_input_ids"],
            decoder_attention_mask=features["decoder_attention_mask"], return_dict=True,
        ).logits.float()
        targets, mask = features["target_ids"], features["target_mask"]
        # log p(target) = logit(target) − logsumexp(logits): avoids materialising a full log-softmax copy.
        token_logp = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
        token_logp = token_logp.masked_fill(~mask, 0.0)
        features["scores"] = (token_logp.sum(-1) / mask.sum(-1).clamp(min=1)).unsqueeze(-1)
        return features

    # -- saving / loading -----------------------------------------------------------------------------------
    def get_config_dict(self) -> dict[str, Any]:
        return {"decoder_prefix_ids": self.decoder_prefix_ids, "max_text_tokens": self.max_text_tokens}

    def save(self, output_path: str, *, safe_serialization: bool = True) -> None:
        os.makedirs(output_path, exist_ok=True)
        self.auto_model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.processor.save_pretrained(output_path)
        write_json(os.path.join(output_path, CONFIG_NAME), self.get_config_dict())

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> GenerativeScore:
        stored = read_json(os.path.join(path, CONFIG_NAME), default={})
        return cls(path, **{**stored, **{k: v for k, v in kwargs.items() if v is not None}})


def _dedupe_clips(clips: list[Any]) -> tuple[list[Any], list[int]]:
    """Distinct clips (by content) and, per pair, the index of its clip: rank(audio, texts) encodes once."""
    seen: dict[bytes, int] = {}
    unique, index = [], []
    for clip in clips:
        array = np.ascontiguousarray(getattr(clip, "array", clip))
        key = hashlib.blake2b(array.tobytes(), digest_size=16).digest() + str(array.shape).encode()
        if key not in seen:
            seen[key] = len(unique)
            unique.append(clip)
        index.append(seen[key])
    return unique, index
