"""The Transformer module: a Hugging Face model + its processor, for every modality the pair supports.

It prepares decoded items (``str``, RGB PIL images, :class:`~omniembed.inputs.AudioClip`…) into tensors through
the family helpers of :mod:`omniembed.families`, and calls the model method named by ``modality_config`` for that
modality, writing ``token_embeddings`` (a Pooling module follows) or ``sentence_embedding`` (dual encoders that
pool themselves). The model comes from the ``backend``'s loader (:mod:`omniembed.modules.loading`); ``forward``
only relies on its transformers call convention. Folder format: the HF files plus ``sentence_bert_config.json``,
as the reference library writes them.

Example:
    >>> from omniembed.modules import Transformer
    >>> t = Transformer(minilm_folder)
    >>> t.modalities, t.get_word_embedding_dimension()
    (['text'], 384)
    >>> features = t.preprocess(["a cat", "a photo of a dog"])
    >>> features["input_ids"].shape, features["modality"]
    (torch.Size([2, 7]), 'text')
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from typing import Any, ClassVar

import torch

from omniembed.errors import ConfigError, UnsupportedModalityError
from omniembed.families import attention_mask, audio, chat, combined, text, video, vision, whisper_window
from omniembed.families.inplace_activation import install as run_activations_in_place
from omniembed.families.modalities import family_processing_defaults, infer_modality_config
from omniembed.families.processing_kwargs import ProcessingKwargs
from omniembed.modality import Modality, modality_key, parse_modality_key, supports
from omniembed.modules import loading
from omniembed.modules.base import Module, read_json
from omniembed.modules.transformer_api import (
    TransformerReferenceAPI,
    check_modality_config,
    default_num_labels,
    rename_deprecated_args,
)
from omniembed.quiet import quiet_transformers

logger = logging.getLogger(__name__)

CONFIG_NAME = "sentence_bert_config.json"
LEGACY_CONFIG_NAMES = [CONFIG_NAME] + [
    f"sentence_{name}_config.json" for name in ("roberta", "distilbert", "camembert", "albert", "xlm-roberta", "xlnet")
]
__all__ = ["Transformer"]


class Transformer(TransformerReferenceAPI, Module):
    """Wraps ``transformers`` models for the module stack (see the module docstring); the reference's extra
    members (``model``, ``get_embedding_dimension``, ``load_config``…) are in
    :mod:`omniembed.modules.transformer_api`."""

    config_file_name: ClassVar[str] = CONFIG_NAME
    config_file_names: ClassVar[list[str]] = LEGACY_CONFIG_NAMES
    save_in_root: ClassVar[bool] = True

    def __init__(
        self,
        model_name_or_path: str,
        *,
        transformer_task: str = "feature-extraction",
        modality_config: dict[str, dict] | None = None,
        module_output_name: str | None = None,
        processing_kwargs: dict[str, dict] | None = None,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
        model_kwargs: dict | None = None,
        processor_kwargs: dict | None = None,
        config_kwargs: dict | None = None,
        cache_dir: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        backend: str = "torch",
        unpad_inputs: bool | None = None,
        **unused: Any,
    ) -> None:
        super().__init__()
        if any(name in unused for name in ("model_args", "tokenizer_args", "config_args")):
            renamed = rename_deprecated_args({**unused, "model_kwargs": model_kwargs,
                                              "processor_kwargs": processor_kwargs, "config_kwargs": config_kwargs})
            model_kwargs, processor_kwargs, config_kwargs = (
                renamed["model_kwargs"], renamed["processor_kwargs"], renamed["config_kwargs"])
        if modality_config is not None and module_output_name is None:
            raise ConfigError(
                "Loading the Transformer module with a custom modality_config requires also providing "
                "module_output_name (e.g. 'token_embeddings' or 'sentence_embedding')."
            )
        if modality_config is not None:
            check_modality_config(modality_config)
        hub = {"cache_dir": cache_dir, "revision": revision, "local_files_only": local_files_only, "token": token,
               "trust_remote_code": trust_remote_code}
        self.transformer_task = transformer_task
        self.do_lower_case = do_lower_case
        self.processing_kwargs = processing_kwargs or {}
        self.config = loading.load_config(model_name_or_path, config_kwargs={"use_cache": False, **(config_kwargs or {})},
                                          hub_kwargs=hub)
        default_num_labels(self.config, transformer_task, config_kwargs)
        self.backend = backend
        self.auto_model = loading.load_model(model_name_or_path, self.config, task=transformer_task,
                                             model_kwargs=model_kwargs or {}, hub_kwargs=hub, backend=backend)
        run_activations_in_place(self.auto_model)  # bit-identical; saves the largest activation of each layer
        self.processor = loading.load_processor(model_name_or_path, processor_kwargs=processor_kwargs or {},
                                                hub_kwargs=hub, config=self.config)
        # from_pretrained ignores image-size caps such as max_pixels for some processors (transformers #41955)
        vision.apply_image_caps(self.processor, processor_kwargs)
        self._family_kwargs = family_processing_defaults(self.auto_model)
        if modality_config is None:
            modality_config, module_output_name = infer_modality_config(self.auto_model, self.processor)
        self.modality_config = {modality_key(parse_modality_key(k)): dict(v) for k, v in modality_config.items()}
        self.module_output_name = module_output_name
        self.max_seq_length = max_seq_length if max_seq_length is not None else self._default_max_length()
        self.unpad_inputs = unpad_inputs
        self._warn_unpad(unpad_inputs)
        self._prompt_lengths: dict[str, int] = {}
        self._accepted_inputs: dict[str, set[str] | None] = {}  # per model method: the keyword inputs it names

    # -- introspection --------------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> Any:
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def modalities(self) -> list[Modality]:
        return [parse_modality_key(k) for k in self.modality_config]

    @property
    def message_format(self) -> str:
        """The chat template's message format: ``structured`` (typed content items) or ``flat`` (strings)."""
        return (self.modality_config.get("message") or {}).get("format", "structured")

    def _default_max_length(self) -> int | None:
        limit = getattr(self.tokenizer, "model_max_length", None)
        if limit is None or limit > 1_000_000:  # transformers' "no limit" sentinel
            limit = None
        positions = getattr(getattr(self.config, "text_config", self.config), "max_position_embeddings", None)
        if positions and (limit is None or positions < limit):
            limit = positions
        return limit

    def get_word_embedding_dimension(self) -> int:
        cfg = self.config
        if self.module_output_name == "sentence_embedding":
            # dual encoders: the shared projection (CLIP, CLAP, X-CLIP, ALIGN…; SigLIP keeps it on the text tower)
            for source in (cfg, getattr(cfg, "text_config", None)):
                for name in ("projection_dim", "projection_size"):
                    if isinstance(getattr(source, name, None), int):
                        return int(getattr(source, name))
        for source in (cfg, getattr(cfg, "text_config", None)):
            for name in ("hidden_size", "d_model", "hidden_dim", "embed_dim"):
                value = getattr(source, name, None)
                if isinstance(value, int):
                    return value
            sizes = getattr(source, "hidden_sizes", None)
            if sizes:
                return int(sizes[-1])
        raise ConfigError(f"Could not determine embedding dimension for {type(self.auto_model).__name__}.")

    def get_sentence_embedding_dimension(self) -> int | None:
        return self.get_word_embedding_dimension() if self.module_output_name == "sentence_embedding" else None

    # -- preprocessing --------------------------------------------------------------------------------------
    def processing_kwargs_for(self, processing_kwargs: dict | None = None) -> ProcessingKwargs:
        """The processor options of a call: defaults < the family's < saved ``processing_kwargs`` < per-call ones."""
        return ProcessingKwargs.resolve(self._family_kwargs, self.processing_kwargs, processing_kwargs)

    def preprocess(
        self,
        inputs: list[Any] | text.TokenRows,
        prompt: str | None = None,
        *,
        modality: Modality = "text",
        processing_kwargs: dict | None = None,
        **unused: Any,
    ) -> dict[str, Any]:
        """Decoded items of one modality → model-ready features (``modality`` and ``prompt_length`` included).

        The rules (the reference's, §6): a module whose ``modality_config`` has ``message`` turns **every** batch
        into chat messages (a prompt becomes the system message); otherwise each modality goes through its own
        part of the processor, and a prompt on a non-text input is ignored. ``inputs`` may also be
        :class:`~omniembed.families.text.TokenRows`: texts this call already tokenised (see :meth:`pretokenize`).
        """
        key = modality_key(modality)
        if key not in self.modality_config and not (isinstance(modality, tuple) and supports(self.modalities, modality)):
            raise UnsupportedModalityError(
                f"Modality '{key}' is not supported by this Transformer module. Supported modalities: "
                f"{', '.join(modality_key(m) for m in self.modalities)}."
            )
        kwargs = self.processing_kwargs_for(processing_kwargs)
        processor = self.processor
        if isinstance(inputs, text.TokenRows):
            features = inputs.collate()
        elif "message" in self.modality_config:
            conversations = [chat.to_messages(item, modality, fmt=self.message_format) for item in inputs]
            features = chat.render_messages(processor, conversations, kwargs, fmt=self.message_format,
                                            max_length=self.max_seq_length, prompt=prompt, task=unused.get("task"))
        elif modality == "text":
            features = text.tokenize(self.tokenizer, text.apply_prompt(inputs, prompt), max_length=self.max_seq_length,
                                     do_lower_case=self.do_lower_case, options=kwargs.for_modality("text"))
        elif modality == "image":
            features = vision.prepare_images(vision.image_processor_of(processor), inputs, kwargs)
        elif modality == "audio":
            features = audio.prepare_audio(audio.feature_extractor_of(processor), self.auto_model, inputs, kwargs)
        elif modality == "video":
            features = video.prepare_video(vision.image_processor_of(processor), inputs, kwargs,
                                           frames_needed=video.required_frames(self.auto_model))
        else:  # a combination, on a model that takes it in one forward pass without a chat template
            features = combined.prepare_combined(processor, self.auto_model, inputs, modality, kwargs, prompt=prompt,
                                                 max_length=self.max_seq_length)
        if prompt and modality == "text" and "message" not in self.modality_config:
            features["prompt_length"] = self._prompt_length(prompt)
        features["modality"] = modality
        return features

    def pretokenize(self, texts: list[Any], prompt: str | None = None, *, processing_kwargs: dict | None = None,
                    **unused: Any) -> text.TokenizedTexts | None:
        """Tokenise a call's plain texts (or text pairs) once, unpadded, as :meth:`preprocess` would: their lengths
        sort the batches, and a batch of them (``TokenRows``) is only padded. None when this module cannot (chat
        models, slow tokenizers, options the padder does not reproduce): the texts are then tokenised per batch."""
        if "message" in self.modality_config or "text" not in self.modality_config:
            return None
        options = self.processing_kwargs_for(processing_kwargs).for_modality("text")
        return text.tokenize_unpadded(self.tokenizer, text.apply_prompt(texts, prompt), max_length=self.max_seq_length,
                                      do_lower_case=self.do_lower_case, options=options)

    def render_messages(self, conversations: list[list[dict[str, Any]]], *, prompt: str | None = None,
                        add_generation_prompt: bool = False, processing_kwargs: dict | None = None) -> dict[str, Any]:
        """Conversations (decoded media inside) → features through the chat template (see
        :func:`omniembed.families.chat.render_messages`)."""
        return chat.render_messages(self.processor, conversations, self.processing_kwargs_for(processing_kwargs),
                                    fmt=self.message_format, max_length=self.max_seq_length, prompt=prompt,
                                    add_generation_prompt=add_generation_prompt)

    def media_hints(self, modality: Modality | None = None, processing_kwargs: dict | None = None) -> dict[str, Any]:
        """What ``inputs.load_item`` should produce for this model: ``image_size`` (the shortest side the image
        processor needs, so large JPEGs decode at reduced scale), ``sampling_rate`` (the feature extractor's) and
        ``video_sampling`` (e.g. exactly 8 frames for X-CLIP; the reference's ``processing_kwargs={"video":
        {"num_frames" | "fps" | "do_sample_frames"}}``, saved or per call, choose it for other models). A text
        model needs none. ``modality`` is the modality being loaded (a Router picks its route by it).
        """
        hints: dict[str, Any] = {}
        image_size = vision.shortest_side_needed(vision.image_processor_of(self.processor))
        if image_size:
            hints["image_size"] = image_size
        extractor = audio.feature_extractor_of(self.processor)
        if getattr(extractor, "sampling_rate", None):
            hints["sampling_rate"] = int(extractor.sampling_rate)
        video_options = self.processing_kwargs_for(processing_kwargs).for_modality("video")
        sampling = video.sampling_for(self.auto_model, self.processor, video_options)
        if sampling is not None:
            hints["video_sampling"] = sampling
        return hints

    def _prompt_length(self, prompt: str) -> int:
        if prompt not in self._prompt_lengths:
            self._prompt_lengths[prompt] = text.prompt_token_count(self.tokenizer, prompt)
        return self._prompt_lengths[prompt]

    # -- forward --------------------------------------------------------------------------------------------
    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        key = modality_key(features.get("modality", "text"))
        spec = self.modality_config.get(key) or self.modality_config["message"]  # combined inputs on chat models
        rows = features.pop(audio.ROWS_KEY, None)
        if rows is not None:  # padding-sensitive audio encoders: one clip per pass (see families.audio)
            outputs = [self._call(spec, row) for row in rows]
            value = _pad_rows([_as_tokens(_walk(o, spec["method_output_name"])) for o in outputs])
            output = outputs[0]
        elif whisper_window.KEYS_KEY in features and spec["method"] == "forward":  # opt-in: valid frames + margin
            output = whisper_window.encode(self.auto_model, features)
            value = output.last_hidden_state
        else:
            output = self._call(spec, features)
            value = _as_tokens(_walk(output, spec["method_output_name"]))
            hidden_states = getattr(output, "hidden_states", None)
            if hidden_states is not None:  # models loaded with output_hidden_states (WeightedLayerPooling reads it)
                features["all_layer_embeddings"] = hidden_states
        features[self.module_output_name] = value
        self._after_forward(features, output)
        return features

    def _call(self, spec: dict[str, Any], features: dict[str, Any]) -> Any:
        """The one place the backbone runs: the ``modality_config`` method with the features it names."""
        name = spec["method"]
        method = self.auto_model if name == "forward" else getattr(self.auto_model, name, None)
        if method is None:
            raise ConfigError(f"Model does not have the requested '{name}' method")
        # Only the method's named inputs: transformers' **kwargs swallow anything else and pass it to every layer.
        if name not in self._accepted_inputs:
            self._accepted_inputs[name] = _accepted_kwargs(method)
        accepted = self._accepted_inputs[name]
        model_inputs = {k: v for k, v in features.items() if torch.is_tensor(v) and (accepted is None or k in accepted)}
        if accepted is None or "return_dict" in accepted:
            model_inputs["return_dict"] = True
        return method(**attention_mask.with_padding_only_mask(self.auto_model, model_inputs))

    def _after_forward(self, features: dict[str, Any], output: Any) -> None:
        """Audio encoders: replace the sample-level mask by one over the encoder frames that hold real audio, so
        Pooling averages those only (``processing_kwargs={"audio": {"pool_valid_frames": False}}`` keeps the
        reference's pooling of the padded window)."""
        valid = features.get(audio.VALID_FRAMES_KEY)
        tokens = features.get(self.module_output_name)
        if valid is None or not torch.is_tensor(tokens) or tokens.dim() != 3 or not features.get(audio.POOL_KEY):
            return
        features["attention_mask"] = audio.frame_mask(valid.to(tokens.device), tokens.shape[1])

    def __repr__(self) -> str:
        # The reference's compact form (its config and architecture), not the transformers module tree
        return f"Transformer({ {**self.get_config_dict(), 'architecture': type(self.auto_model).__name__} })"

    # -- saving / loading -----------------------------------------------------------------------------------
    def get_config_dict(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "transformer_task": self.transformer_task,
            "modality_config": self.modality_config,
            "module_output_name": self.module_output_name,
        }
        if self.max_seq_length is not None:
            config["max_seq_length"] = self.max_seq_length
        if self.do_lower_case:
            config["do_lower_case"] = True
        if self.processing_kwargs:
            config["processing_kwargs"] = self.processing_kwargs
        if self.unpad_inputs is not None:
            config["unpad_inputs"] = self.unpad_inputs
        return config

    def save(self, output_path: str, *, safe_serialization: bool = True) -> None:
        os.makedirs(output_path, exist_ok=True)
        with quiet_transformers():  # no "Writing model shards" bar on a plain save
            self.auto_model.save_pretrained(output_path, safe_serialization=safe_serialization)
        self.processor.save_pretrained(output_path)
        # Not key-sorted: the order of modality_config is the order of `modalities` (['text', 'image', 'message'])
        with open(os.path.join(output_path, CONFIG_NAME), "w", encoding="utf-8") as handle:
            json.dump(self.get_config_dict(), handle, indent=2)
            handle.write("\n")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Transformer:
        stored: dict[str, Any] = {}
        for name in LEGACY_CONFIG_NAMES:
            if os.path.isfile(os.path.join(path, name)):
                stored = read_json(os.path.join(path, name))
                break
        if stored and "modality_config" not in stored and "transformer_task" not in stored:
            stored["modality_config"] = {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}
            stored["module_output_name"] = "token_embeddings"  # saved before multimodality: text only
        for key in ("model_kwargs", "processor_kwargs", "config_kwargs"):
            stored_value = stored.pop(f"{key.split('_')[0]}_args", None) or stored.pop(key, None) or {}
            kwargs[key] = {**stored_value, **(kwargs.get(key) or {})}
        return cls(path, **{**stored, **{k: v for k, v in kwargs.items() if v is not None}})


def _accepted_kwargs(method: Any) -> set[str] | None:
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return None
    named = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return named or None


def _as_tokens(value: torch.Tensor) -> torch.Tensor:
    if value.dim() == 4:  # conv feature maps (B, C, H, W) → tokens (B, H·W, C)
        value = value.flatten(2).transpose(1, 2)
    return value


def _pad_rows(values: list[torch.Tensor]) -> torch.Tensor:
    """(1, T_i, H) outputs → (B, max T, H), zero-padded at the end (the frame mask covers the padding)."""
    if values[0].dim() != 3:
        return torch.cat(values)
    width = max(v.shape[1] for v in values)
    return torch.cat([torch.nn.functional.pad(v, (0, 0, 0, width - v.shape[1])) for v in values])


def _walk(output: Any, path: str | list[str]) -> torch.Tensor:
    for name in [path] if isinstance(path, str) else path:
        if torch.is_tensor(output):
            break
        output = output[name] if isinstance(output, dict) or hasattr(output, "keys") else getattr(output, name)
    return output
