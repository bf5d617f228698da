"""Tiny random dual encoders the shared support builders do not cover: ALIGN, Chinese-CLIP and SigLIP2.

Same conventions as ``support.models``: hidden 32, 2 layers, 2 heads, 32-px images, deterministic weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support._build import TINY, save_model_folder
from support.toy_tokenizers import siglip_bpe_tokenizer, wordpiece_tokenizer


def _bert_tokenizer(max_length: int = 32) -> Any:
    from transformers import BertTokenizer

    return BertTokenizer(vocab=wordpiece_tokenizer().get_vocab(), do_lower_case=True, model_max_length=max_length)


def build_align(folder: str | Path) -> Path:
    """Tiny ``AlignModel`` (BERT text tower, EfficientNet image tower, projection 24) + ``AlignProcessor``."""
    from transformers import AlignConfig, AlignModel, AlignProcessor, EfficientNetImageProcessorPil

    tokenizer = _bert_tokenizer()
    text_config = {**TINY, "vocab_size": len(tokenizer), "max_position_embeddings": 32}
    vision_config = {
        "image_size": 32, "width_coefficient": 1.0, "depth_coefficient": 1.0, "hidden_dim": 64,
        "num_channels": 3, "kernel_sizes": [3, 3], "in_channels": [32, 16], "out_channels": [16, 24],
        "depthwise_padding": [], "strides": [1, 2], "num_block_repeats": [1, 1], "expand_ratios": [1, 6],
    }
    config = AlignConfig(text_config=text_config, vision_config=vision_config, projection_dim=24)
    image_processor = EfficientNetImageProcessorPil(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32},
                                                    do_center_crop=False, include_top=False)
    processor = AlignProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: AlignModel(config), processor)


def build_chinese_clip(folder: str | Path) -> Path:
    """Tiny ``ChineseCLIPModel`` (BERT text tower, ViT image tower, projection 24) + ``ChineseCLIPProcessor``."""
    from transformers import ChineseCLIPConfig, ChineseCLIPImageProcessorPil, ChineseCLIPModel, ChineseCLIPProcessor

    tokenizer = _bert_tokenizer()
    text_config = {**TINY, "vocab_size": len(tokenizer), "max_position_embeddings": 32}
    vision_config = {**TINY, "image_size": 32, "patch_size": 8}
    config = ChineseCLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=24)
    image_processor = ChineseCLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = ChineseCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: ChineseCLIPModel(config), processor)


def build_siglip2(folder: str | Path) -> Path:
    """Tiny ``Siglip2Model`` (NaFlex: patches + ``pixel_attention_mask`` + ``spatial_shapes``) + ``Siglip2Processor``."""
    from transformers import (
        PreTrainedTokenizerFast,
        Siglip2Config,
        Siglip2ImageProcessorPil,
        Siglip2Model,
        Siglip2Processor,
    )

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=siglip_bpe_tokenizer(), pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>", model_max_length=16, model_input_names=["input_ids"])
    text_config = {**TINY, "vocab_size": len(tokenizer), "max_position_embeddings": 16,
                   "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id, "bos_token_id": None}
    vision_config = {**TINY, "patch_size": 8, "num_patches": 16}
    config = Siglip2Config(text_config=text_config, vision_config=vision_config)
    image_processor = Siglip2ImageProcessorPil(patch_size=8, max_num_patches=16)
    processor = Siglip2Processor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: Siglip2Model(config), processor)


def build_git(folder: str | Path) -> Path:
    """Tiny ``GitModel`` (CLIP vision tower + BERT-style text decoder) + ``GitProcessor``: text and (image, text)."""
    from transformers import BertTokenizer, CLIPImageProcessorPil, GitConfig, GitModel, GitProcessor

    tokenizer = BertTokenizer(vocab=wordpiece_tokenizer().get_vocab(), do_lower_case=True, model_max_length=32)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = GitConfig(
        vision_config={**TINY, "image_size": 32, "patch_size": 8}, vocab_size=len(tokenizer), max_position_embeddings=64,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, pad_token_id=tokenizer.pad_token_id,
        **TINY,
    )
    processor = GitProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return save_model_folder(folder, lambda: GitModel(config), processor)
