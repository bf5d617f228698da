"""Load the Hugging Face parts of a module: config, the model for a task and backend, processor.

Why not ``AutoProcessor`` alone: for plain text models it has broken in the past (custom tokenizers known only
through ``auto_map``), so a tokenizer, then a feature extractor, is tried when it fails.

Backends: :data:`BACKENDS` maps a ``backend`` name (the reference's ``backend="torch"|"onnx"|"openvino"``) to the
function that builds the model. Whatever it returns is called the way ``Transformer.forward`` calls a transformers
model: the method named in ``modality_config`` (``forward``, ``get_text_features``…) with the processor's tensors
as keyword arguments, returning an output with ``last_hidden_state`` / ``pooler_output`` / ``logits``. Another
runtime (an ONNX Runtime session behind a small wrapper) registers its loader here; the encode path is unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from omniembed.errors import ConfigError, ModelLoadError, RemoteCodeError

logger = logging.getLogger(__name__)

# transformer_task → the transformers Auto class that builds it
TASK_AUTO_CLASSES: dict[str, str] = {
    "feature-extraction": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "text-generation": "AutoModelForCausalLM",
    "any-to-any": "AutoModelForImageTextToText",
    "fill-mask": "AutoModelForMaskedLM",
}

# Encoder-decoder families whose embedding lives in the encoder alone.
_ENCODER_ONLY = {
    "t5": "T5EncoderModel",
    "mt5": "MT5EncoderModel",
    "umt5": "UMT5EncoderModel",
    "whisper": "WhisperEncoder",
}


def load_config(path: str, *, config_kwargs: dict, hub_kwargs: dict):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path, **hub_kwargs, **config_kwargs)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise RemoteCodeError(
                f"The model at {path!r} defines its architecture in its own Python code. Loading it runs that code; "
                "pass trust_remote_code=True if you trust the repository."
            ) from exc
        raise ModelLoadError(f"Could not read the model configuration at {path!r}: {exc}") from exc
    except OSError as exc:
        raise ModelLoadError(f"Could not read the model configuration at {path!r}: {exc}") from exc


def load_model(path: str, config, *, task: str, model_kwargs: dict, hub_kwargs: dict, backend: str = "torch") -> Any:
    """The model for ``task`` from ``path``, built by the ``backend``'s loader (see the module docstring)."""
    loader = BACKENDS.get(backend)
    if loader is None:
        raise ConfigError(f"Unsupported backend '{backend}'. Supported backends: {sorted(BACKENDS)}.")
    return loader(path, config, task=task, model_kwargs=model_kwargs, hub_kwargs=hub_kwargs)


def load_torch_model(path: str, config, *, task: str, model_kwargs: dict, hub_kwargs: dict) -> torch.nn.Module:
    import transformers

    if task not in TASK_AUTO_CLASSES:
        raise ConfigError(f"Unsupported transformer_task {task!r}. Supported tasks: {sorted(TASK_AUTO_CLASSES)}")
    kwargs = {"dtype": torch.float32, **model_kwargs}  # fp32 unless asked: bf16 on CPU is ~100x slower
    architectures = getattr(config, "architectures", None) or []
    if task == "feature-extraction" and config.model_type in _ENCODER_ONLY:
        cls = _model_class(config.model_type, _ENCODER_ONLY[config.model_type])
        if architectures and architectures[0] != cls.__name__:
            logger.warning(
                "Loading only the encoder (%s) of a %s checkpoint: prefer saving the encoder alone; see docs.",
                cls.__name__, architectures[0],
            )
        return from_pretrained_checked(cls, path, config, kwargs, hub_kwargs, strict=True)
    auto_cls = getattr(transformers, TASK_AUTO_CLASSES[task])
    if task == "any-to-any":
        try:
            return from_pretrained_checked(auto_cls, path, config, kwargs, hub_kwargs, strict=True)
        except ValueError:
            auto_cls = transformers.AutoModelForVision2Seq if hasattr(transformers, "AutoModelForVision2Seq") else auto_cls
    return from_pretrained_checked(auto_cls, path, config, kwargs, hub_kwargs, strict=task == "feature-extraction")


def _model_class(model_type: str, name: str):
    """A transformers class by name; some (``WhisperEncoder``) live only in their model's modeling module."""
    import importlib

    import transformers

    try:
        return getattr(transformers, name)
    except AttributeError:
        folder = model_type.replace("-", "_")
        return getattr(importlib.import_module(f"transformers.models.{folder}.modeling_{folder}"), name)


def from_pretrained_checked(cls, path, config, kwargs, hub_kwargs, *, strict: bool):
    """Load and refuse silently random weights: a checkpoint whose keys do not match the class is an error."""
    try:
        model, info = cls.from_pretrained(path, config=config, output_loading_info=True, **hub_kwargs, **kwargs)
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise RemoteCodeError(f"{path!r} needs trust_remote_code=True to load its custom model code.") from exc
        raise ModelLoadError(f"Could not load the model weights at {path!r}: {exc}") from exc
    except OSError as exc:
        raise ModelLoadError(f"Could not load the model weights at {path!r}: {exc}") from exc
    missing = [k for k in info.get("missing_keys", []) if not _ignorable_missing(k)]
    if strict and missing:
        share = len(missing) / max(1, len(list(model.state_dict())))
        if share > 0.5:
            raise ModelLoadError(
                f"Loading {path!r} as {type(model).__name__} left {len(missing)} weights uninitialised (e.g. "
                f"{missing[:3]}): the checkpoint does not match this architecture, and its embeddings would be random."
            )
        logger.warning("Weights not found in the checkpoint, initialised randomly: %s", missing[:10])
    return model


def _ignorable_missing(key: str) -> bool:
    return key.endswith(("position_ids", "proj_out.weight", "pooler.dense.weight", "pooler.dense.bias"))


def load_processor(path: str, *, processor_kwargs: dict, hub_kwargs: dict) -> Any:
    """AutoProcessor, falling back to AutoTokenizer, then AutoFeatureExtractor / AutoImageProcessor."""
    import transformers

    errors = []
    for name in ("AutoProcessor", "AutoTokenizer", "AutoFeatureExtractor", "AutoImageProcessor"):
        try:
            processor = getattr(transformers, name).from_pretrained(path, **hub_kwargs, **processor_kwargs)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            if "trust_remote_code" in str(exc):
                # Falling back to the tokenizer would silently drop the processor's other modalities.
                raise RemoteCodeError(
                    f"The processor of {path!r} is defined in the repository's own Python code; loading it runs "
                    "that code. Pass trust_remote_code=True if you trust the repository."
                ) from exc
            errors.append(f"{name}: {exc}")
            continue
        if processor is not None and not isinstance(processor, bool):
            if errors and "video_processor" in errors[0].lower().replace(" ", "_"):
                # e.g. Qwen-VL: its processor cannot be built without torchvision; only this part is usable
                logger.warning("The full processor of %r could not be loaded (%s); using its %s only, so the "
                               "modalities it lacks are unavailable.", path, errors[0], name[4:])
            return processor
    raise ModelLoadError(f"No tokenizer or processor could be loaded from {path!r}:\n  " + "\n  ".join(errors))


#: backend name → model loader (``load_model`` dispatches here; see the module docstring)
BACKENDS: dict[str, Callable[..., Any]] = {"torch": load_torch_model}
