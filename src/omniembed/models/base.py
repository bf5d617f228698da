"""What SentenceTransformer and CrossEncoder share: loading a module stack, prompts, devices, the call set-up
(:meth:`ModelBase.call_context`), the one ``forward``, the dispatch of a call (:meth:`ModelBase.run`), saving."""

from __future__ import annotations

import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.errors import ConfigError, ItemFailure, ModelLoadError, OmniEmbedError
from omniembed.modality import Modality, supports
from omniembed.models.devices import check_device
from omniembed.models.media_argument import media_options
from omniembed.models.reference_api import ModelReferenceAPI
from omniembed.modules.base import run_stack
from omniembed.processing import runtime
from omniembed.processing.batches import check_on_error
from omniembed.quiet import quiet_transformers
from omniembed.serialization import folder as disk
from omniembed.serialization.hub import resolve_model_folder
from omniembed.serialization.preflight import preflight_folder

logger = logging.getLogger(__name__)


def default_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if hasattr(torch, "npu") and torch.npu.is_available():  # pragma: no cover - hardware specific
        return "npu"
    if hasattr(torch, "hpu") and torch.hpu.is_available():  # pragma: no cover
        return "hpu"
    if torch.backends.mps.is_available():  # pragma: no cover
        return "mps"
    return "cpu"


class ModelBase(ModelReferenceAPI, nn.Sequential):
    """A sequence of modules loaded from a folder or hub id (see SentenceTransformer for the arguments)."""

    model_type: ClassVar[str] = "SentenceTransformer"
    default_prompts: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        modules: list[nn.Module] | None = None,
        device: str | None = None,
        prompts: dict[str, str | None] | None = None,
        default_prompt_name: str | None = None,
        cache_folder: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        model_kwargs: dict | None = None,
        processor_kwargs: dict | None = None,
        config_kwargs: dict | None = None,
        model_card_data: Any = None,
        backend: str = "torch",
        tokenizer_kwargs: dict | None = None,
        use_auth_token: bool | str | None = None,
        allow_pickle: bool = False,
    ) -> None:
        if use_auth_token is not None:
            if token is not None:
                raise ConfigError("Both `token` and `use_auth_token` are specified. Please use only `token`.")
            warnings.warn("The `use_auth_token` argument is deprecated and will be removed in a future release of "
                          "SentenceTransformers.", FutureWarning, stacklevel=3)
            token = use_auth_token
        if tokenizer_kwargs is not None:
            logger.warning("`tokenizer_kwargs` is deprecated; use `processor_kwargs`.")
            processor_kwargs = {**tokenizer_kwargs, **(processor_kwargs or {})}
        from omniembed.modules.loading import BACKENDS

        if backend not in BACKENDS:
            raise ConfigError(f"Unsupported backend '{backend}'. Supported backends: {sorted(BACKENDS)}.")
        cache_folder = cache_folder or os.environ.get("SENTENCE_TRANSFORMERS_HOME")
        self._load_kwargs = {
            "model_kwargs": model_kwargs, "processor_kwargs": processor_kwargs, "config_kwargs": config_kwargs,
            "cache_dir": cache_folder, "trust_remote_code": trust_remote_code, "local_files_only": local_files_only,
            "token": token, "backend": backend, "allow_pickle": allow_pickle,
        }
        saved: dict[str, Any] = {}
        if modules is not None and model_name_or_path is None:
            if len(modules) == 0:
                raise ConfigError(
                    f"An empty modules list was passed to {self.model_type}. Please provide at least one module, "
                    "e.g. a Transformer module."
                )
            loaded = list(modules)
        elif model_name_or_path is not None:
            if modules is not None:
                logger.warning("Both `model_name_or_path` and `modules` were provided. The modules are loaded from "
                               "`model_name_or_path`, so the `modules` argument is ignored.")
            path = resolve_model_folder(str(model_name_or_path), cache_folder=cache_folder, revision=revision,
                                        token=token, local_files_only=local_files_only, backend=backend)
            self.model_path = path
            with quiet_transformers():
                saved, loaded = self._load_folder(path)
        else:
            raise ConfigError(f"{self.model_type} needs `model_name_or_path` or `modules`.")
        super().__init__(OrderedDict((str(i), m) for i, m in enumerate(loaded)))
        self.model_card_data = model_card_data
        self._init_prompts(prompts, default_prompt_name, saved)
        self._apply_saved_config(saved)
        self.to(check_device(device) if device is not None else default_device())

    # -- loading --------------------------------------------------------------------------------------------
    def _load_folder(self, path: str) -> tuple[dict[str, Any], list[nn.Module]]:
        # Hostile folders: absurd sizes, truncated weights, pickle-only weights, paths leaving the folder, all
        # refused from headers before anything is built (see serialization/preflight.py).
        preflight_folder(path, allow_pickle=bool(self._load_kwargs.get("allow_pickle")))
        saved = disk.read_model_config(path)
        entries = disk.read_modules_json(path)
        # The reference's rule: a modules.json save without "model_type" predates it, so it is a SentenceTransformer.
        saved_type = saved.get("model_type", "SentenceTransformer" if entries else None)
        kwargs = {k: v for k, v in self._load_kwargs.items()}
        if entries is not None and saved_type == self.model_type:
            return saved, disk.load_modules(path, entries, **kwargs)
        if entries is not None and saved_type not in (None, self.model_type):
            logger.info("Converting %s model %s to %s.", saved_type, path, self.model_type)
            saved = {}
        try:
            return saved, self._default_modules(path, kwargs)
        except (OmniEmbedError, MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise ModelLoadError(f"Could not load the model folder {path!r}: {type(exc).__name__}: {exc}") from exc

    def _default_modules(self, path: str, load_kwargs: dict[str, Any]) -> list[nn.Module]:  # pragma: no cover
        raise NotImplementedError

    def _apply_saved_config(self, saved: dict[str, Any]) -> None:
        """Hook for subclass-specific saved settings (similarity function, activation…)."""

    # -- prompts --------------------------------------------------------------------------------------------
    def _init_prompts(self, prompts, default_prompt_name, saved) -> None:
        merged = dict(self.default_prompts)
        merged.update(saved.get("prompts") or {})
        for name, value in (prompts or {}).items():
            if value is not None:
                merged[name] = value
        self.prompts: dict[str, str] = merged
        name = default_prompt_name if default_prompt_name is not None else saved.get("default_prompt_name")
        if name is not None and name not in self.prompts:
            raise ConfigError(
                f"Default prompt name '{name}' not found in the configured prompts dictionary with keys "
                f"{list(self.prompts)}."
            )
        self.default_prompt_name = name

    def resolve_prompt(self, prompt: str | None, prompt_name: str | None) -> str | None:
        if prompt is not None:
            if prompt_name is not None:
                logger.warning(
                    "Provide either a `prompt`, a `prompt_name`, or neither, but not both. Ignoring the "
                    "`prompt_name` in favor of `prompt`."
                )
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return None
        if name not in self.prompts:
            raise ConfigError(
                f"Prompt name '{name}' not found in the configured prompts dictionary with keys {list(self.prompts)}."
            )
        return self.prompts[name] or None

    # -- calls ----------------------------------------------------------------------------------------------
    def call_context(
        self,
        *,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        device: str | torch.device | None = None,
        on_error: str = "raise",
        media: Any = None,
        num_workers: int | None = None,
        processing_kwargs: dict | None = None,
        forward_kwargs: dict[str, Any] | None = None,
    ) -> runtime.CallContext:
        """Check a call's settings and fix them in a :class:`~omniembed.processing.runtime.CallContext`. The model
        moves only when ``device`` differs from where it is, and is put in eval mode, as in the reference."""
        if batch_size is None or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size}.")
        check_on_error(on_error)
        if device is not None and check_device(device) != self.device:
            self.to(device)
        self.eval()
        show = show_progress_bar
        if show is None:  # the reference's rule: a bar when the log level shows INFO
            show = logging.getLogger("omniembed").getEffectiveLevel() <= logging.INFO
        return runtime.CallContext(
            model=self, prompt=prompt, batch_size=batch_size, device=self.device, on_error=on_error,
            media=media_options(media) if media is not None else getattr(self, "media", None),
            processing_kwargs=processing_kwargs,
            forward_kwargs=dict(forward_kwargs or {}), num_workers=num_workers, show_progress_bar=bool(show),
        )

    def run(self, ctx: runtime.CallContext, task: runtime.Task, items: Sequence[Any], *, pool: Any = None,
            devices: Sequence[Any] | None = None, chunk_size: int | None = None) -> tuple[list[Any], list[ItemFailure]]:
        """One row per item and the failures: the dispatch point of ``encode`` and ``predict``. In this process, or,
        with ``pool=`` / ``device=[...]`` (``chunk_size`` items per task), on a multi-process pool whose workers run
        the same runtime on their chunks (:mod:`omniembed.parallel`); the caller finalises the rows once."""
        if pool is not None or devices:
            from omniembed.parallel.calls import run_multi_process

            return run_multi_process(self, ctx, task, items, pool=pool, devices=devices, chunk_size=chunk_size)
        return runtime.run(ctx, task, items)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run the module stack (each module through ``__call__``, so hooks apply); ``kwargs`` reach the modules
        that declare them in ``forward_kwargs`` (a Router's ``task``)."""
        return run_stack(self, features, kwargs)

    # -- several processes (omniembed.parallel) ----------------------------------------------------------------
    def start_multi_process_pool(self, target_devices: list[str] | None = None) -> Any:
        """Start worker processes holding this model, one per entry of ``target_devices`` (default: every GPU,
        else four CPU workers); pass the pool to ``encode``/``predict``/``rank`` as ``pool=``. Also a context
        manager. Scripts need an ``if __name__ == "__main__":`` guard (workers are spawned).

        Example:
            >>> with model.start_multi_process_pool(["cpu", "cpu"]) as pool:      # doctest: +SKIP
            ...     emb = model.encode(paths, pool=pool, on_error="skip")
        """
        from omniembed.parallel import MultiProcessPool

        return MultiProcessPool(self, target_devices)

    @staticmethod
    def stop_multi_process_pool(pool: Any) -> None:
        """Stop the workers of a pool from :meth:`start_multi_process_pool`."""
        pool.stop()

    # -- properties -----------------------------------------------------------------------------------------
    @property
    def media(self) -> Any:
        """The default :class:`~omniembed.inputs.MediaOptions` of this model's calls (None: the defaults)."""
        return self.__dict__.get("_media")

    @media.setter
    def media(self, value: Any) -> None:
        self.__dict__["_media"] = media_options(value)

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype | None:
        """The floating dtype of the parameters; None for a model without parameters, as in the reference."""
        first = None
        for tensor in self.parameters():
            if tensor.is_floating_point():
                return tensor.dtype
            first = first or tensor.dtype
        return first

    @property
    def transformers_model(self) -> nn.Module | None:
        first = self[0]
        return getattr(first, "auto_model", None)

    @property
    def tokenizer(self) -> Any:
        return getattr(self[0], "tokenizer", None)

    @property
    def processor(self) -> Any:
        return getattr(self[0], "processor", None)

    @property
    def max_seq_length(self) -> int | None:
        return getattr(self[0], "max_seq_length", None)

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        self[0].max_seq_length = value

    @property
    def modalities(self) -> list[Modality]:
        return list(getattr(self[0], "modalities", ["text"]))

    @property
    def supported_modalities(self) -> list[Modality]:
        """Alias of :attr:`modalities` (the name used in the Sentence Transformers announcement)."""
        return self.modalities

    def supports(self, modality: Modality) -> bool:
        return supports(self.modalities, modality)

    def get_model_kwargs(self) -> list[str]:
        names: set[str] = set()
        modules = list(self)
        while modules:  # a Router's route modules too: it hands them the keywords they declare
            module = modules.pop()
            names |= set(getattr(module, "forward_kwargs", set()))
            for route in getattr(module, "sub_modules", {}).values() if hasattr(module, "routes_call_kwargs") else ():
                modules.extend(route)
        return sorted(names)

    # -- saving ---------------------------------------------------------------------------------------------
    def _config_to_save(self) -> dict[str, Any]:
        return {"model_type": self.model_type, "prompts": self.prompts, "default_prompt_name": self.default_prompt_name}

    def save(self, path: str | None, model_name: str | None = None, create_model_card: bool = True,
             train_datasets: Any = None, safe_serialization: bool = True, **unused: Any) -> None:
        if path is None:
            return
        path = str(path)
        os.makedirs(path, exist_ok=True)
        disk.write_model_config(path, self._config_to_save())
        with quiet_transformers():
            disk.save_modules(path, list(self), safe_serialization=safe_serialization)
        if create_model_card and not os.path.isfile(os.path.join(path, "README.md")):
            with open(os.path.join(path, "README.md"), "w", encoding="utf-8") as handle:
                handle.write(self._model_card(model_name))

    def save_pretrained(self, path: str, **kwargs: Any) -> None:
        self.save(path, **kwargs)

    def _model_card(self, model_name: str | None) -> str:
        modalities = ", ".join("+".join(m) if isinstance(m, tuple) else m for m in self.modalities)
        return (
            f"---\nlibrary_name: sentence-transformers\ntags:\n- omniembed\n- {self.model_type.lower()}\n---\n\n"
            f"# {model_name or self.model_type}\n\nSaved with omniembed. Modalities: {modalities}.\n\n"
            "```python\nfrom omniembed import " + self.model_type + f"\nmodel = {self.model_type}(\"path/to/this/folder\")\n```\n"
        )
