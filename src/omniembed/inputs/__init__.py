"""omniembed.inputs: user input → detected modality → decoded, validated media item.

Nothing here loads a model or a transformers processor. The decoders are safe by default for untrusted input:
byte, pixel, duration and frame limits (:class:`MediaLimits`), a guarded URL fetcher (:class:`FetchPolicy`),
format allowlists for Pillow and FFmpeg, and typed errors (:mod:`omniembed.errors`) for every bad item.

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
from omniembed.inputs.detect import infer_batch_modality, infer_modality, is_singular_input, sniff_media
from omniembed.inputs.fetch import FetchPolicy
from omniembed.inputs.image import load_image
from omniembed.inputs.isolation import IsolationLimits
from omniembed.inputs.limits import MediaLimits
from omniembed.inputs.loader import LoadResult, MediaOptions, load_item, try_load
from omniembed.inputs.sources import SourceData, read_source
from omniembed.inputs.video import VideoClip, VideoSampling, load_video

__all__ = [
    "AudioClip",
    "FetchPolicy",
    "IsolationLimits",
    "LoadResult",
    "MediaLimits",
    "MediaOptions",
    "SourceData",
    "VideoClip",
    "VideoSampling",
    "infer_batch_modality",
    "infer_modality",
    "is_singular_input",
    "load_audio",
    "load_image",
    "load_item",
    "load_video",
    "read_source",
    "sniff_media",
    "try_load",
]
