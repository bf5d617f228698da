"""What crosses the pipe between the parent and a worker: tensors as plain numpy buffers, exceptions that survive.

Tensors are not sent as tensors: torch registers a pickler that moves every tensor through its own shared-memory
file (one file descriptor per tensor), which is costly for thousands of small rows and fails when ``/dev/shm`` is
small. A numpy buffer is pickled inline, in one copy. bfloat16 has no numpy dtype, so it travels as int16 bits.

Example:
    >>> import torch
    >>> from omniembed.parallel.wire import pack, unpack
    >>> x = torch.arange(4, dtype=torch.bfloat16)
    >>> y = unpack(pack({"v": [x, None]}))
    >>> y["v"][0].dtype, torch.equal(y["v"][0], x), y["v"][1]
    (torch.bfloat16, True, None)

Calls travel as a :class:`CallSpec`: the caller's context and task without the model, bound to the worker's copy.
"""

from __future__ import annotations

import pickle
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class PackedTensor:
    array: np.ndarray
    bfloat16: bool = False

    def to_tensor(self) -> torch.Tensor:
        tensor = torch.from_numpy(self.array)
        return tensor.view(torch.bfloat16) if self.bfloat16 else tensor


def pack(value: Any) -> Any:
    """Tensors (anywhere inside lists, tuples and dicts) → CPU numpy buffers."""
    if torch.is_tensor(value):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            return PackedTensor(value.contiguous().view(torch.int16).numpy(), bfloat16=True)
        return PackedTensor(value.contiguous().numpy())
    if isinstance(value, list):
        return [pack(v) for v in value]
    if isinstance(value, tuple):
        return tuple(pack(v) for v in value)
    if isinstance(value, dict):
        return {k: pack(v) for k, v in value.items()}
    return value


def unpack(value: Any) -> Any:
    """The inverse of :func:`pack`."""
    if isinstance(value, PackedTensor):
        return value.to_tensor()
    if isinstance(value, list):
        return [unpack(v) for v in value]
    if isinstance(value, tuple):
        return tuple(unpack(v) for v in value)
    if isinstance(value, dict):
        return {k: unpack(v) for k, v in value.items()}
    return value


class RemoteError(RuntimeError):
    """An exception from a worker that could not be pickled; carries the worker's formatted traceback."""


def portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip, else a RemoteError holding its traceback (as the reference)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - whatever pickling raises, the traceback text still travels
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return RemoteError(f"{type(exc).__name__} in a pool worker (not picklable); its traceback:\n{text}")


@dataclass(frozen=True)
class ModuleRef:
    """Stands for one of the model's own modules inside a task sent to a worker (``position`` in
    ``model.modules()``), so a task that holds e.g. a scorer module does not ship a copy of the model."""

    position: int


@dataclass(frozen=True)
class CallSpec:
    """What a worker needs to run the caller's call on its own copy of the model: the
    :class:`~omniembed.processing.runtime.CallContext` fields other than the model and its device (the caller's
    prompt, batch size, on_error, media options, processing and forward kwargs, decoding threads), and the task
    (an ``Embedding`` or ``Scoring``) with the model's modules replaced by :class:`ModuleRef`."""

    context: dict[str, Any]
    task: Any

    @classmethod
    def of(cls, ctx: Any, task: Any) -> CallSpec:
        import dataclasses

        fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}
        for local in ("model", "device", "show_progress_bar"):
            fields.pop(local)
        positions = {id(module): i for i, module in enumerate(ctx.model.modules())}
        refs = {f.name: ModuleRef(positions[id(value)]) for f in dataclasses.fields(task)
                if isinstance(value := getattr(task, f.name), torch.nn.Module) and id(value) in positions}
        return cls(fields, dataclasses.replace(task, **refs) if refs else task)

    def bind(self, model: Any) -> tuple[Any, Any]:
        """The context and task for ``model`` (a worker's copy), on the device the worker holds it on."""
        import dataclasses

        from omniembed.processing.runtime import CallContext

        modules = None
        refs = {}
        for f in dataclasses.fields(self.task):
            value = getattr(self.task, f.name)
            if isinstance(value, ModuleRef):
                modules = modules if modules is not None else list(model.modules())
                refs[f.name] = modules[value.position]
        task = dataclasses.replace(self.task, **refs) if refs else self.task
        return CallContext(model=model, device=model.device, show_progress_bar=False, **self.context), task
