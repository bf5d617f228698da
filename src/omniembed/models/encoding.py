"""The encode loop: detect → group/sort/batch → load (threads) → preprocess → forward → post-process.

Kept apart from the SentenceTransformer class so the public class stays a readable list of methods.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from omniembed.errors import ConfigError, ItemFailure
from omniembed.inputs import detect
from omniembed.inputs.missing import screen_missing_files
from omniembed.processing import outputs
from omniembed.processing.pipeline import Job, input_length, make_jobs, run_jobs
from omniembed.util.tensor import batch_to_device

logger = logging.getLogger(__name__)
ALWAYS_ALLOWED_KWARGS = {"task", "processing_kwargs"}


@dataclass
class EncodeRequest:
    inputs: Any
    prompt: str | None
    batch_size: int = 32
    show_progress_bar: bool | None = None
    output_value: str | None = "sentence_embedding"
    precision: str | None = "float32"
    convert_to_numpy: bool = True
    convert_to_tensor: bool = False
    device: str | None = None
    normalize_embeddings: bool = False
    truncate_dim: int | None = None
    on_error: str = "raise"
    num_workers: int | None = None
    media: Any = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)


def check_model_kwargs(model: Any, kwargs: dict[str, Any]) -> None:
    valid = set(model.get_model_kwargs())
    unknown = sorted(set(kwargs) - valid - ALWAYS_ALLOWED_KWARGS)
    if not unknown:
        return
    message = (
        f"{type(model).__name__}.encode() has been called with additional keyword arguments that this model does "
        f"not use: {unknown}. As per {type(model).__name__}.get_model_kwargs(), "
    )
    if valid:
        message += f"the valid additional keyword arguments are: {sorted(valid)}."
    else:
        message += "this model does not accept any additional keyword arguments."
    raise ConfigError(message)


def detect_jobs(model: Any, items: list[Any], on_error: str) -> tuple[list[Job], list[ItemFailure]]:
    """Modality of every item, checked against the model; per-item problems become failures or raise."""
    supported, owner = model.modalities, f"{type(model).__name__} model"

    def make_job(index: int, item: Any) -> Job:
        modality = detect.infer_modality(item, supported)
        detect.check_modality_supported(modality, supported, owner=owner)
        if modality == "text" and isinstance(item, dict):
            item = item["text"]  # {"text": x} is x, spelled explicitly
        return Job(index, item, modality, input_length(item))

    return make_jobs(items, make_job, on_error)


def sort_by_tokens(model: Any, jobs: list[Job], text_of: Any = None) -> None:
    """Replace character lengths by token counts when the first module can count them (less padding).

    ``text_of(job)`` gives the job's text or (a, b) text pair, or None for jobs to leave alone; by default
    plain-text items.
    """
    count = getattr(model[0], "token_lengths", None)
    if text_of is None:
        def text_of(job: Job) -> Any:
            return job.item if job.modality == "text" and isinstance(job.item, str) else None
    texts = [(job, text) for job in jobs if (text := text_of(job)) is not None]
    if count is None or len(texts) < 2:
        return
    for kind in (str, tuple):  # a tokenizer call takes texts or pairs, not both
        group = [(job, text) for job, text in texts if isinstance(text, kind)]
        lengths = count([text for _, text in group]) if len(group) > 1 else None
        for (job, _), length in zip(group, lengths or []):
            job.length = length


def media_loader(model: Any, media: Any, processing_kwargs: dict | None = None):
    """The per-item loader: text passes through; media go through omniembed.inputs with the model's needs."""
    from omniembed.backbones.media import media_hints

    hints: dict[Any, dict] = {}  # per modality: a Router's routes may need different sizes / rates

    def load(job: Job) -> Any:
        from omniembed.inputs.loader import load_item  # Pillow/PyAV only when media are actually loaded

        if job.modality not in hints:
            hints[job.modality] = media_hints(model[0], job.modality, processing_kwargs)
        return load_item(job.item, job.modality, options=media, **hints[job.modality])

    return load


def run_encode(model: Any, req: EncodeRequest) -> tuple[Any, list[ItemFailure]]:
    outputs.check_precision(req.precision, allow_none=True)
    check_model_kwargs(model, req.model_kwargs)
    convert_to_numpy, convert_to_tensor = req.convert_to_numpy, req.convert_to_tensor
    if convert_to_tensor:
        convert_to_numpy = False
    if req.output_value != "sentence_embedding":
        convert_to_numpy = convert_to_tensor = False
    device, show = model.prepare_call(batch_size=req.batch_size, on_error=req.on_error,
                                      show_progress_bar=req.show_progress_bar, device=req.device)
    singular = detect.is_singular_input(req.inputs)
    items = [req.inputs] if singular else list(req.inputs)

    jobs, failures = detect_jobs(model, items, req.on_error)
    jobs = screen_missing_files(jobs, failures, req.media, model.modalities, req.on_error)
    sort_by_tokens(model, jobs)
    loader = media_loader(model, req.media, req.model_kwargs.get("processing_kwargs"))
    extra = {k: v for k, v in req.model_kwargs.items() if k != "processing_kwargs"}
    processing_kwargs = req.model_kwargs.get("processing_kwargs")

    def process(batch_jobs: list[Job], values: list[Any]) -> list[Any]:
        features = model.preprocess(values, req.prompt, modality=batch_jobs[0].modality,
                                    processing_kwargs=processing_kwargs, **extra)
        features = batch_to_device(features, device)
        with torch.inference_mode():
            out = model.forward(features, **extra)
        return split_rows(out, req)

    rows = run_jobs(jobs, len(items), batch_size=req.batch_size, load=loader,
                    needs_loading=lambda job: job.modality != "text", process=process, failures=failures,
                    num_workers=req.num_workers, on_error=req.on_error, show_progress_bar=show)
    result = outputs.finalize_embeddings(
        rows, output_value=req.output_value, precision=req.precision, convert_to_numpy=convert_to_numpy,
        convert_to_tensor=convert_to_tensor, width=model.get_embedding_dimension(), dtype=model.dtype,
    )
    if singular:
        result = result[0]
    return result, failures


def split_rows(out: dict[str, Any], req: EncodeRequest) -> list[Any]:
    """One output per item: truncated + normalised sentence vectors, trimmed token matrices, or feature dicts."""
    if req.output_value == "sentence_embedding":
        emb = out["sentence_embedding"]
        if req.truncate_dim is not None:
            emb = emb[..., : req.truncate_dim]
        if req.normalize_embeddings:
            emb = F.normalize(emb, p=2, dim=-1)
        return list(emb.detach().cpu())
    if req.output_value == "token_embeddings":
        tokens, mask = out["token_embeddings"], out.get("attention_mask")
        rows = []
        for i in range(tokens.shape[0]):
            length = tokens.shape[1]
            if mask is not None and mask.shape[-1] == tokens.shape[1]:
                attended = torch.nonzero(mask[i]).flatten()
                length = int(attended[-1]) + 1 if len(attended) else 0
            rows.append(tokens[i, :length].detach().cpu())
        return rows
    batch = next(v.shape[0] for v in out.values() if torch.is_tensor(v) and v.dim() > 0)
    rows = []
    for i in range(batch):
        row = {}
        for key, value in out.items():
            if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == batch:
                row[key] = value[i].detach().cpu()
            else:
                row[key] = value
        rows.append(row)
    return rows
