"""omniembed: text, images, audio and video in one embedding space, with the Sentence Transformers API.

Example (a hub id such as ``"sentence-transformers/all-MiniLM-L6-v2"`` or a local folder, here the same model):
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, device="cpu")
    >>> model.encode(["A man is eating food."]).shape
    (1, 384)
"""

from omniembed import errors
from omniembed.errors import OmniEmbedError

__version__ = "0.1.0"


def __getattr__(name: str):
    # Heavy imports (torch, transformers) only when the public classes are first used.
    if name == "SentenceTransformer":
        from omniembed.models.sentence_transformer import SentenceTransformer

        return SentenceTransformer
    if name == "CrossEncoder":
        from omniembed.models.cross_encoder import CrossEncoder

        return CrossEncoder
    if name in ("util", "inputs", "modules"):
        import importlib

        return importlib.import_module(f"omniembed.{name}")
    raise AttributeError(f"module 'omniembed' has no attribute {name!r}")


__all__ = ["CrossEncoder", "OmniEmbedError", "SentenceTransformer", "__version__", "errors", "inputs", "modules", "util"]
