"""Members of the reference's ``SentenceTransformer`` / ``CrossEncoder`` that scripts call besides encode/predict.

* ``tokenize(texts)``: deprecated name of ``preprocess`` (logs the reference's warning).
* ``get_max_seq_length()``: ``max_seq_length``.
* ``is_singular_input(inputs)``: True when ``encode(inputs)`` treats ``inputs`` as one item.
* ``set_pooling_include_prompt(flag)``: sets ``include_prompt`` of the first top-level Pooling module, as the
  reference does (Pooling modules inside a Router are left alone; without Pooling it does nothing).
* ``SUPPORTED_SIMILARITY_FN_NAMES``: the similarity names ``similarity_fn_name`` accepts.
* ``CrossEncoder.preprocess(pairs, prompt=None)``: the model inputs for one batch of pairs.

Example:
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")   # doctest: +SKIP
    >>> model.is_singular_input("a"), model.is_singular_input(["a"])            # doctest: +SKIP
    (True, False)
    >>> model.tokenize(["a cat"])["input_ids"].shape                            # doctest: +SKIP
    torch.Size([1, 4])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from omniembed.errors import ConfigError
from omniembed.util.similarity import SUPPORTED_SIMILARITY_FN_NAMES

logger = logging.getLogger(__name__)


def renamed_argument(value: Any, kwargs: dict[str, Any], old: str, new: str, owner: str) -> Any:
    """The reference's deprecated keyword ``old`` (e.g. ``encode(sentences=...)``) as ``new``: popped from
    ``kwargs`` with the reference's warning; when both are given the new one wins. Neither → ``TypeError``."""
    if old in kwargs:
        given = kwargs.pop(old)
        logger.warning("The `%s` argument was renamed and is now deprecated. Please use `%s` instead.", old, new)
        if value is None:
            value = given
    if value is None:
        raise TypeError(f"{owner}() missing 1 required positional argument: '{new}'")
    return value


class ModelReferenceAPI:
    """Mixed into every model class (see the module docstring)."""

    SUPPORTED_SIMILARITY_FN_NAMES: ClassVar[tuple[str, ...]] = SUPPORTED_SIMILARITY_FN_NAMES

    def tokenize(self, texts: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
        """Deprecated name of ``preprocess``."""
        logger.warning("The `tokenize` method is deprecated, please use `preprocess` instead.")
        return self.preprocess(texts, **kwargs)

    def get_max_seq_length(self) -> int | None:
        """The longest input, in tokens, the first module keeps (longer inputs are truncated)."""
        return self.max_seq_length

    def is_singular_input(self, inputs: Any) -> bool:
        """True when ``encode(inputs)`` takes ``inputs`` as one item (a str, an image, a dict, one conversation…),
        False for a batch (a list, a tuple, a numpy string array)."""
        from omniembed.inputs.detect import is_singular_input

        return is_singular_input(inputs)

    def set_pooling_include_prompt(self, include_prompt: bool) -> None:
        """Whether Pooling averages the prompt's tokens too (``False`` drops them, e.g. INSTRUCTOR-style models)."""
        from omniembed.modules.pooling import Pooling

        for module in self:
            if isinstance(module, Pooling):
                module.include_prompt = include_prompt
                break


class CrossEncoderReferenceAPI:
    """Mixed into :class:`~omniembed.CrossEncoder`."""

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Model inputs for one batch of pairs, as ``predict`` builds them (the same
        :class:`~omniembed.processing.scores.Scoring` steps): text pairs → the tokenizer's pair encoding, pairs with
        media → decoded and rendered as query/document messages. ``processing_kwargs`` and ``media``
        (MediaOptions) may be given. All pairs must be of one kind (predict groups them for you)."""
        if len(inputs) == 0:
            return {}
        from omniembed.errors import InputError
        from omniembed.processing.runtime import CallContext

        ctx = CallContext(model=self, prompt=prompt, media=kwargs.get("media", getattr(self, "media", None)),
                          processing_kwargs=kwargs.get("processing_kwargs"))
        task = self.scoring_task()
        jobs = []
        for index, item in enumerate(inputs):
            try:
                jobs.append(task.classify(ctx, index, item))
            except InputError as exc:
                raise exc.at_index(index) from None
        kinds = list(dict.fromkeys(job.kind for job in jobs))
        if len(kinds) != 1:
            raise ConfigError(
                f"These pairs need different preprocessing ({', '.join(map(str, kinds))}); preprocess each kind "
                "separately, or call predict(), which groups them."
            )
        hints_of = getattr(self[0], "media_hints", None)
        hints = {m: hints_of(m, ctx.processing_kwargs) if hints_of else {} for job in jobs for _, m in job.media}
        values = []
        for job in jobs:
            try:
                sides = tuple(side if m == "text" else task.decode(ctx, side, m, hints[m])
                              for side, m in zip(job.sides, job.modalities))
            except InputError as exc:
                raise exc.at_index(job.index) from None
            values.append(task.assemble(job, sides))
        return task.prepare(ctx, kinds[0], values)
