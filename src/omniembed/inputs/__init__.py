"""omniembed.inputs: user input → detected modality → decoded, validated media item.

Nothing here loads a model or a transformers processor. The decoders are safe by default for untrusted input:
byte, pixel, duration and frame limits (:class:`MediaLimits`), a guarded URL fetcher (:class:`FetchPolicy`),
format allowlists for Pillow and FFmpeg, bounded PDF rendering (:func:`document_pages`), and typed errors
(:mod:`omniembed.errors`) for every bad item.

What users need is exported here: the options (:class:`MediaOptions`, :class:`MediaLimits`,
:class:`FetchPolicy`, :class:`VideoSampling`), the decoded types (:class:`AudioClip`, :class:`VideoClip`), the
loaders (:func:`load_item` and the per-modality :func:`load_image`, :func:`load_audio`, :func:`load_video`), PDF
pages (:func:`document_pages`, :class:`DocumentOptions`) and detection (:func:`infer_modality`, :func:`is_singular_input`). The submodules hold the rest.

Example:
    >>> import numpy as np
    >>> from omniembed.inputs import infer_modality, load_item
    >>> wave = {"array": np.zeros(8000, np.float32), "sampling_rate": 8000}
    >>> infer_modality(wave)
    'audio'
    >>> load_item(wave, "audio", sampling_rate=16000)
    AudioClip(samples=16000, sampling_rate=16000, 1.000s)
"""

from omniembed.inputs.audio import AudioClip, load_audio
from omniembed.inputs.detect import infer_modality, is_singular_input
from omniembed.inputs.documents import DocumentOptions, DocumentPage, DocumentPages, document_pages
from omniembed.inputs.fetch import FetchPolicy
from omniembed.inputs.image import load_image
from omniembed.inputs.isolation import IsolationLimits
from omniembed.inputs.limits import MediaLimits
from omniembed.inputs.loader import MediaOptions, load_item
from omniembed.inputs.video import VideoClip, VideoSampling, load_video

__all__ = [
    "AudioClip",
    "DocumentOptions",
    "DocumentPage",
    "DocumentPages",
    "FetchPolicy",
    "IsolationLimits",
    "MediaLimits",
    "MediaOptions",
    "VideoClip",
    "VideoSampling",
    "document_pages",
    "infer_modality",
    "is_singular_input",
    "load_audio",
    "load_image",
    "load_item",
    "load_video",
]
