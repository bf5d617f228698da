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
from omniembed.quiet import quiet_transformers

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
    model_kwargs = dict(model_kwargs)
    if "torch_dtype" in model_kwargs:  # the older name (the announcement's examples use it); transformers 5: dtype
        model_kwargs.setdefault("dtype", model_kwargs.pop("torch_dtype"))
    kwargs = {"dtype": torch.float32, **model_kwargs}  # fp32 unless asked: bf16 on CPU is ~100x slower
    architectures = getattr(config, "architectures", None) or []
    if task == "feature-extraction" and config.model_type in _ENCODER_ONLY:
        cls = _model_class(config.model_type, _ENCODER_ONLY[config.model_type])
        try:  # an encoder folder; or a full checkpoint whose keys the encoder class reads (T5: ``encoder.*``)
            return from_pretrained_checked(cls, path, config, kwargs, hub_kwargs, strict=True)
        except ModelLoadError:
            if not architectures or architectures[0] == cls.__name__:
                raise
        # A full encoder-decoder checkpoint whose encoder weights sit under the full model's prefix (Whisper:
        # ``model.encoder.*``): build the full model and keep its encoder, the part that embeds (saving this module
        # then writes the encoder alone).
        logger.info("Using the encoder (%s) of the %s checkpoint at %s: it is the part that embeds.",
                    cls.__name__, architectures[0], path)
        full = from_pretrained_checked(transformers.AutoModel, path, config, kwargs, hub_kwargs, strict=True)
        encoder = full.get_encoder()
        if not isinstance(encoder, cls):
            raise ModelLoadError(f"The {architectures[0]} checkpoint at {path!r} has no {cls.__name__} encoder.")
        return encoder
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
        with quiet_transformers():  # no weight-loading bar or LOAD REPORT table; missing weights are reported below
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


def load_processor(path: str, *, processor_kwargs: dict, hub_kwargs: dict, config: Any = None) -> Any:
    """A family's own processor builder (:data:`PROCESSOR_BUILDERS`, e.g. Qwen-VL without torchvision), else
    AutoProcessor, falling back to AutoTokenizer, then AutoFeatureExtractor / AutoImageProcessor."""
    import transformers

    for builder in PROCESSOR_BUILDERS:
        try:
            built = builder(path, getattr(config, "model_type", None), processor_kwargs=processor_kwargs,
                            hub_kwargs=hub_kwargs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"Could not load the processor of {path!r}: {exc}") from exc
        if built is not None:
            return built
    errors = []
    for name in ("AutoProcessor", "AutoTokenizer", "AutoFeatureExtractor", "AutoImageProcessor"):
        try:
            processor = getattr(transformers, name).from_pretrained(path, **hub_kwargs, **processor_kwargs)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as exc:  # ImportError: a
            # processor part that needs torchvision (another VLM's video processor): fall back, with a warning
            if "trust_remote_code" in str(exc):
                # Falling back to the tokenizer would silently drop the processor's other modalities.
                raise RemoteCodeError(
                    f"The processor of {path!r} is defined in the repository's own Python code; loading it runs "
                    "that code. Pass trust_remote_code=True if you trust the repository."
                ) from exc
            errors.append(f"{name}: {exc}")
            continue
        if processor is not None and not isinstance(processor, bool):
            if errors and any(w in errors[0].lower().replace(" ", "_") for w in ("video_processor", "torchvision")):
                # e.g. Qwen-VL: its processor cannot be built without torchvision; only this part is usable
                logger.warning("The full processor of %r could not be loaded (%s); using its %s only, so the "
                               "modalities it lacks are unavailable.", path, errors[0], name[4:])
            return processor
    raise ModelLoadError(f"No tokenizer or processor could be loaded from {path!r}:\n  " + "\n  ".join(errors))


def _family_processor_builders() -> list[Callable[..., Any]]:
    from omniembed.families import qwen_vl

    return [qwen_vl.load_processor]


#: (path, model_type, processor_kwargs=, hub_kwargs=) → a processor, or None to fall through to AutoProcessor
PROCESSOR_BUILDERS: list[Callable[..., Any]] = _family_processor_builders()
def load_onnx_model(path: str, config, **kwargs: Any) -> Any:
    from omniembed.backends.onnx import load_onnx_model as load  # needs the [onnx] extra: imported on use

    return load(path, config, **kwargs)


def load_openvino_model(path: str, config, **kwargs: Any) -> Any:
    from omniembed.backends.openvino import load_openvino_model as load  # the [openvino] extra

    return load(path, config, **kwargs)


#: backend name → model loader (``load_model`` dispatches here; see the module docstring)
BACKENDS: dict[str, Callable[..., Any]] = {
    "torch": load_torch_model, "onnx": load_onnx_model, "openvino": load_openvino_model,
}
