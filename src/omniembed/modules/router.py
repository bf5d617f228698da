"""Router: different module stacks per task (query / document) or per modality (text / image…).

A route is a named list of modules. For a batch, the route is chosen from ``task`` (``encode_query`` passes
``task="query"``) and ``modality``, in the reference's order:

1. ``route_mappings[(task, modality)]``, then ``(task, None)``, ``(None, modality)``, ``(None, None)``;
2. a route named like the task, then one named like the modality (``"image+text"`` for a tuple modality);
3. a task that matched nothing raises;
4. the default route (the first route when ``allow_empty_key`` and no default is given);
5. otherwise an error.

Tuple modalities are compared sorted, so ``("text", "image")`` and ``("image", "text")`` are the same key.

On disk (saved in the model root when the Router is the first module): ``router_config.json`` with ``types``
(sub-folder → reference class path), ``structure`` (route → sub-folders) and ``parameters``; each module lives
in ``{route}_{idx}_{ClassName}/``, and a module shared by several routes is saved once. Legacy ``Asym`` saves
keep the same structure in ``config.json``.

Example:
    >>> import torch
    >>> from omniembed.modules.dense import Dense
    >>> from omniembed.modules.router import Router
    >>> router = Router.for_query_document([Dense(2, 2)], [Dense(2, 3)])
    >>> router.default_route, router.get_sentence_embedding_dimension()
    ('document', 2)
    >>> out = router({"sentence_embedding": torch.ones(1, 2)}, task="document")
    >>> tuple(out["sentence_embedding"].shape)
    (1, 3)
"""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from torch import nn

from omniembed.errors import ConfigError, ModelLoadError
from omniembed.modality import MODALITIES, Modality, modality_key, normalize_modality
from omniembed.modules.base import Module, read_json, run_stack

logger = logging.getLogger(__name__)

CONFIG_NAME = "router_config.json"
LEGACY_CONFIG_NAME = "config.json"  # Asym
# Dict keys that mark a real input (multimodal dict, chat message, raw audio/video), not a legacy task key.
INPUT_DICT_KEYS = frozenset(MODALITIES) | {"role", "content", "array", "sampling_rate", "video_metadata"}

RouteKey = tuple[str | None, Modality | None]


def format_modality(modality: Modality | None) -> str | None:
    return None if modality is None else modality_key(modality)


def parse_route_key(key: Any) -> RouteKey:
    """A route_mappings key: a (task, modality) pair, or its ``str()`` as written to router_config.json."""
    if isinstance(key, str):
        try:
            key = ast.literal_eval(key)  # literal_eval evaluates literals only, never code
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(f"Could not parse route_mappings key {key!r}: expected '(task, modality)'.") from exc
    if not isinstance(key, (tuple, list)) or len(key) != 2:
        raise ConfigError(f"Invalid route_mappings key {key!r}: expected a (task, modality) pair.")
    task, modality = key
    if task is not None and not isinstance(task, str):
        raise ConfigError(f"Invalid route_mappings key {key!r}: the task must be a string or None.")
    return task, normalize_modality(modality)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Router(Module):
    """Runs one of several module stacks per batch (see the module docstring)."""

    config_keys: ClassVar[list[str]] = ["default_route", "allow_empty_key", "route_mappings"]
    config_file_name: ClassVar[str] = CONFIG_NAME
    save_in_root: ClassVar[bool] = True
    forward_kwargs: ClassVar[set[str]] = {"task", "modality"}
    #: As in the reference, a Router gets every call keyword and hands each route module the ones it declares.
    routes_call_kwargs: ClassVar[bool] = True

    def __init__(
        self,
        sub_modules: Mapping[str, Iterable[nn.Module] | nn.Module],
        default_route: str | None = None,
        allow_empty_key: bool = True,
        route_mappings: Mapping[Any, str] | None = None,
    ) -> None:
        super().__init__()
        if not sub_modules:
            raise ConfigError("The sub_modules dictionary cannot be empty.")
        routes = list(sub_modules)
        if default_route is not None and default_route not in sub_modules:
            raise ConfigError(f"Default route '{default_route}' not found in route keys: {routes}")
        mappings: dict[RouteKey, str] = {}
        for key, target in (route_mappings or {}).items():
            if target not in sub_modules:
                raise ConfigError(
                    f"route_mappings contains mapping to '{target}' which is not in sub_modules. "
                    f"Available routes: {routes}"
                )
            mappings[parse_route_key(key)] = target
        self.sub_modules = nn.ModuleDict({
            name: nn.Sequential(*([modules] if isinstance(modules, nn.Module) else list(modules)))
            for name, modules in sub_modules.items()
        })
        if default_route is None and allow_empty_key:
            default_route = routes[0]
        self.default_route = default_route
        self.allow_empty_key = bool(allow_empty_key)
        self.route_mappings = mappings

    @classmethod
    def for_query_document(
        cls,
        query_modules: Iterable[nn.Module],
        document_modules: Iterable[nn.Module],
        default_route: str | None = "document",
        allow_empty_key: bool = True,
        route_mappings: Mapping[Any, str] | None = None,
    ) -> Router:
        """Routes ``query`` and ``document``, used by ``encode_query`` / ``encode_document``."""
        return cls({"query": query_modules, "document": document_modules}, default_route=default_route,
                   allow_empty_key=allow_empty_key, route_mappings=route_mappings)

    # -- routing --------------------------------------------------------------------------------------------
    def _routes_string(self) -> str:
        routes = [f"task={name!r}" for name in self.sub_modules]
        for task, modality in self.route_mappings:
            if modality is None:
                routes.append(f"task={task!r}")
            elif task is None:
                routes.append(f"modality={format_modality(modality)!r}")
            else:
                routes.append(f"(task={task!r}, modality={format_modality(modality)!r})")
        return _join(routes)

    def _route_by_name(self, task: str | None, modality: Modality | None) -> str | None:
        mappings = self.route_mappings
        for key in ((task, modality), (task, None), (None, modality), (None, None)):
            if key in mappings:
                return mappings[key]
        if task and task in self.sub_modules:
            return task
        name = format_modality(modality)
        if name and name in self.sub_modules:
            return name
        if task is not None:
            raise ConfigError(f"No route found for task type '{task}'. Available routes: {self._routes_string()}")
        return None

    def resolve_route(self, task: str | None = None, modality: Any = None) -> str:
        """The route a batch with this task and modality goes through."""
        normalized = normalize_modality(modality)
        route = self._route_by_name(task, normalized)
        if route is None:
            route = self.default_route
        if route is None:
            if self.training:
                raise ConfigError(
                    "You must provide a `router_mapping` argument on the training arguments, or set a default "
                    "route in the `Router`."
                )
            raise ConfigError(
                f"Could not determine route for task={task!r}, modality={format_modality(normalized)!r}. "
                f"Available routes: {self._routes_string()}. Consider specifying the `task` parameter in "
                "`model.encode`, or setting a default route in the `Router`."
            )
        if route not in self.sub_modules:  # default_route was reassigned to an unknown name
            raise ConfigError(f"Resolved route '{route}' not found in sub_modules. "
                              f"Available routes: {list(self.sub_modules)}")
        return route

    def route_start(self, task: str | None, modality: Any) -> nn.Module:
        """The first module of the route a batch with this task and modality takes (the one that prepares it)."""
        route = self.resolve_route(task, modality)
        modules = self.sub_modules[route]
        if len(modules) == 0 or not hasattr(modules[0], "preprocess"):
            first = type(modules[0]).__name__ if len(modules) else "nothing"
            raise ConfigError(f"Route '{route}' starts with {first}, which cannot preprocess inputs.")
        return modules[0]

    # -- preprocess / forward -------------------------------------------------------------------------------
    def preprocess(self, inputs: list[Any], prompt: str | None = None, *, task: str | None = None,
                   modality: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Prepare a batch with the chosen route's first module; records ``task`` / ``modality`` in the features."""
        if task is None and isinstance(inputs, list) and inputs and all(isinstance(x, dict) for x in inputs):
            keys = {key for item in inputs for key in item}
            if keys and not keys & INPUT_DICT_KEYS:  # legacy Asym input: [{"query": "text"}, ...]
                if len(keys) > 1:
                    raise ConfigError(
                        "You cannot pass a list of dictionaries with different task types. Please ensure all "
                        "dictionaries have the same task type key, or pass non-dictionary inputs while providing "
                        "the `task` argument."
                    )
                task = keys.pop()
                inputs = [item[task] for item in inputs]
        if modality is None and isinstance(inputs, list):
            modality = _guess_modality(inputs)
        extra = {"modality": modality} if modality is not None else {}
        features = self.route_start(task, modality).preprocess(inputs, prompt=prompt, **extra, **kwargs)
        features["task"] = task
        if modality is not None:
            features["modality"] = modality
        return features

    def pretokenize(self, texts: list[Any], prompt: str | None = None, *, task: str | None = None,
                    **kwargs: Any) -> Any:
        """The text route's ``pretokenize`` (see ``Transformer.pretokenize``); None when it has none."""
        start = self.route_start(task, "text")
        return start.pretokenize(texts, prompt, **kwargs) if hasattr(start, "pretokenize") else None

    def media_hints(self, modality: Any = None, processing_kwargs: dict | None = None) -> dict[str, Any]:
        """The loader hints of the first route whose first module takes ``modality`` (an image route's image size
        applies to images, an audio route's sampling rate to audio)."""
        for first in self._first_modules():
            takes = modality is None or modality in getattr(first, "modalities", ["text"])
            if takes and hasattr(first, "media_hints"):
                return first.media_hints(modality, processing_kwargs)
        return {}

    def tokenize(self, texts: list[Any], **kwargs: Any) -> dict[str, Any]:
        """The pre-multimodal name of :meth:`preprocess`."""
        return self.preprocess(texts, **kwargs)

    def forward(self, features: dict[str, Any], task: str | None = None, modality: Any = None,
                **kwargs: Any) -> dict[str, Any]:
        task = features.get("task") if task is None else task
        modality = features.get("modality") if modality is None else modality
        route = self.resolve_route(task, modality)
        return run_stack(self.sub_modules[route], features, {**kwargs, "task": task, "modality": modality})

    # -- introspection --------------------------------------------------------------------------------------
    def _first_modules(self) -> list[nn.Module]:
        return [route[0] for route in self.sub_modules.values() if len(route)]

    @property
    def modalities(self) -> list[Modality]:
        """Union over routes of what their first module accepts, in route order."""
        found: list[Modality] = []
        for module in self._first_modules():
            for modality in getattr(module, "modalities", ["text"]):
                if modality not in found:
                    found.append(modality)
        return found

    @property
    def tokenizer(self) -> Any:
        """The default route's tokenizer, else the first route's that has one."""
        order = [self.default_route] if self.default_route in self.sub_modules else []
        order += [name for name in self.sub_modules if name not in order]
        for name in order:
            route = self.sub_modules[name]
            tokenizer = getattr(route[0], "tokenizer", None) if len(route) else None
            if tokenizer is not None:
                return tokenizer
        return None

    @property
    def max_seq_length(self) -> int | None:
        lengths = [getattr(m, "max_seq_length", None) for m in self._first_modules()]
        lengths = [length for length in lengths if length is not None]
        return max(lengths) if lengths else None

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        for module in self._first_modules():
            if hasattr(module, "max_seq_length"):
                module.max_seq_length = value

    def get_sentence_embedding_dimension(self) -> int | None:
        """The first route's output dimension; other routes that differ only log a warning."""
        dims: dict[str, int] = {}
        for name, route in self.sub_modules.items():
            dim = _route_dimension(route)
            if dim is not None:
                dims[name] = dim
        if not dims:
            return None
        first = next(iter(dims.values()))
        if len(set(dims.values())) > 1:
            logger.warning("The Router's routes produce embeddings of different sizes: %s. Reporting %d.",
                           dims, first)
        return first

    get_embedding_dimension = get_sentence_embedding_dimension

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "default_route": self.default_route,
            "allow_empty_key": self.allow_empty_key,
            "route_mappings": {str(key): route for key, route in self.route_mappings.items()},
        }

    # -- saving / loading -----------------------------------------------------------------------------------
    def save(self, output_path: str, *, safe_serialization: bool = True) -> None:
        from omniembed.serialization import registry

        os.makedirs(output_path, exist_ok=True)
        types: dict[str, str] = {}
        structure: dict[str, list[str]] = {}
        folder_of: dict[int, str] = {}  # id(module) → folder, so a module shared by routes is saved once
        for name, route in self.sub_modules.items():
            structure[name] = []
            for idx, module in enumerate(route):
                folder = folder_of.get(id(module))
                if folder is None:
                    folder = f"{name}_{idx}_{type(module).__name__}"
                    folder_of[id(module)] = folder
                    target = os.path.join(output_path, folder)
                    try:
                        module.save(target, safe_serialization=safe_serialization)
                    except TypeError:  # third-party modules with the older save(path) signature
                        module.save(target)
                    types[folder] = registry.reference_type(module)
                structure[name].append(folder)
        config = {"types": types, "structure": structure, "parameters": self.get_config_dict()}
        # Not sorted: route order decides the implicit default route and the order of `modalities`.
        with open(os.path.join(output_path, CONFIG_NAME), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=4)
            handle.write("\n")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Router:
        from omniembed.serialization import registry

        config_path = os.path.join(path, CONFIG_NAME)
        if not os.path.isfile(config_path):
            config_path = os.path.join(path, LEGACY_CONFIG_NAME)  # an Asym folder
        config = read_json(config_path)
        if not isinstance(config, dict) or "types" not in config or "structure" not in config:
            raise ModelLoadError(f"{config_path!r} is not a Router configuration (no 'types' and 'structure').")
        trust = bool(kwargs.get("trust_remote_code", False))
        loaded: dict[str, nn.Module] = {}
        from omniembed.serialization.folder import load_module
        from omniembed.serialization.preflight import module_folder

        for folder, type_path in config["types"].items():
            module_cls = registry.module_class(type_path, trust_remote_code=trust)
            loaded[folder] = load_module(module_cls, module_folder(path, folder, listed_in=config_path), kwargs)
        try:
            sub_modules = {route: [loaded[f] for f in folders] for route, folders in config["structure"].items()}
        except KeyError as exc:
            raise ModelLoadError(f"{config_path!r} names module folder {exc} in 'structure' but not in 'types'.") \
                from None
        params = dict(config.get("parameters") or {})
        return cls(sub_modules, default_route=params.get("default_route"),
                   allow_empty_key=params.get("allow_empty_key", True),
                   route_mappings=params.get("route_mappings") or None)


Asym = Router  # the class's name before sentence-transformers 5


def _route_dimension(route: nn.Sequential) -> int | None:
    for module in reversed(list(route)):
        for getter in ("get_sentence_embedding_dimension", "get_embedding_dimension"):
            method = getattr(module, getter, None)
            if method is not None:
                dim = method()
                if dim is not None:
                    return dim
    return None


def _guess_modality(inputs: list[Any]) -> Modality | None:
    """The modality of a batch of decoded items when the caller did not say; None when unsure or mixed.

    Only decoded types are recognised (see docs/architecture.md); raw user input is detected upstream.
    """
    kinds = set()
    for item in inputs:
        is_pair = isinstance(item, (tuple, list)) and item and all(isinstance(x, str) for x in item)
        if isinstance(item, str) or is_pair:
            kinds.add("text")
        elif isinstance(item, dict) and item and set(item) <= set(MODALITIES):
            kinds.add(normalize_modality(tuple(item)))
        elif isinstance(item, list) and item and all(isinstance(x, dict) and "role" in x for x in item):
            kinds.add("message")
        elif type(item).__module__.startswith("PIL."):
            kinds.add("image")
        elif hasattr(item, "sampling_rate") and hasattr(item, "array"):
            kinds.add("audio")
        elif hasattr(item, "frames"):
            kinds.add("video")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None
