"""``omniembed.base.modality``: modality detection under the reference's import path
(``sentence_transformers.base.modality``). The functions live in :mod:`omniembed.inputs.detect`.

Example:
    >>> from omniembed.base.modality import is_image_url_or_path, infer_modality
    >>> is_image_url_or_path("https://example.com/cat.png"), infer_modality({"text": "a", "image": "cat.png"})
    (True, ('image', 'text'))
"""

from omniembed.inputs.detect import (
    MULTIMODAL_DICT_KEYS,
    Modality,
    format_modality,
    infer_batch_modality,
    infer_modality,
    is_audio_url_or_path,
    is_image_url_or_path,
    is_message_dict,
    is_video_url_or_path,
)

__all__ = [
    "MULTIMODAL_DICT_KEYS", "Modality", "format_modality", "infer_batch_modality", "infer_modality",
    "is_audio_url_or_path", "is_image_url_or_path", "is_message_dict", "is_video_url_or_path",
]  # fmt: skip
