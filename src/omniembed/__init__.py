"""omniembed: text, images, audio and video in one embedding space, with the Sentence Transformers API.

Example (a hub id such as ``"sentence-transformers/all-MiniLM-L6-v2"`` or a local folder, here the same model):
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, device="cpu")
    >>> model.encode(["A man is eating food."]).shape
    (1, 384)
"""

from omniembed import errors, import_aliases
from omniembed.errors import OmniEmbedError

__version__ = "0.1.0"

# `from omniembed.models.Pooling import Pooling`, `from omniembed.SentenceTransformer import …`: the reference's
# file-level import paths (see omniembed.import_aliases).
import_aliases.install()

_SUBMODULES = ("util", "inputs", "modules", "models", "cross_encoder", "sentence_transformer", "similarity_functions",
               "quantization", "base")


def __getattr__(name: str):
    # Heavy imports (torch, transformers) only when the public classes are first used.
    if name == "SentenceTransformer":
        from omniembed.models.sentence_transformer import SentenceTransformer

        return SentenceTransformer
    if name == "CrossEncoder":
        from omniembed.models.cross_encoder import CrossEncoder

        return CrossEncoder
    if name == "SimilarityFunction":
        from omniembed.util.similarity import SimilarityFunction

        return SimilarityFunction
    if name == "quantize_embeddings":
        from omniembed.util.quantization import quantize_embeddings

        return quantize_embeddings
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"omniembed.{name}")
    raise AttributeError(f"module 'omniembed' has no attribute {name!r}")


__all__ = [
    "CrossEncoder", "OmniEmbedError", "SentenceTransformer", "SimilarityFunction", "__version__", "base",
    "cross_encoder", "errors", "inputs", "models", "modules", "quantization", "quantize_embeddings",
    "sentence_transformer", "similarity_functions", "util",
]  # fmt: skip
