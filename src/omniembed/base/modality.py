"""``omniembed.base.modality``: the reference's import path (``sentence_transformers.base.modality``) for
omniembed's modality helpers. Nothing is defined here: the names come from :mod:`omniembed.modality` (the modality
rules), :mod:`omniembed.inputs.detect` (detection) and :mod:`omniembed.inputs.reference_detect` (the reference's
name tests and batch modality).

Example:
    >>> from omniembed.base.modality import is_image_url_or_path, infer_modality
    >>> is_image_url_or_path("https://example.com/cat.png"), infer_modality({"text": "a", "image": "cat.png"})
    (True, ('image', 'text'))
"""

from omniembed.inputs.detect import infer_modality, is_message_dict
from omniembed.inputs.reference_detect import (
    infer_batch_modality,
    is_audio_url_or_path,
    is_image_url_or_path,
    is_video_url_or_path,
)
from omniembed.modality import COMBINABLE as MULTIMODAL_DICT_KEYS
from omniembed.modality import Modality, supports
from omniembed.modality import modality_key as format_modality

__all__ = [
    "MULTIMODAL_DICT_KEYS", "Modality", "format_modality", "infer_batch_modality", "infer_modality",
    "is_audio_url_or_path", "is_image_url_or_path", "is_message_dict", "is_video_url_or_path", "supports",
]  # fmt: skip
