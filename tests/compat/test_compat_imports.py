"""Every import path a sentence-transformers script uses has an omniembed counterpart: replacing the package name
is the only change (docs/migration.md lists the map). Each line below was checked against the reference 6.2."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

IMPORT_LINES = [
    "from {p} import SentenceTransformer, CrossEncoder, SimilarityFunction, quantize_embeddings, util",
    ("from {p}.util import cos_sim, dot_score, euclidean_sim, manhattan_sim, pairwise_cos_sim, pairwise_dot_score, "
     "pairwise_euclidean_sim, pairwise_manhattan_sim, pairwise_angle_sim, pytorch_cos_sim, maxsim, maxsim_pairwise, "
     "mean_maxsim, mean_maxsim_pairwise, semantic_search, paraphrase_mining, paraphrase_mining_embeddings, "
     "community_detection, information_retrieval, quantize_embeddings, normalize_embeddings, truncate_embeddings, "
     "batch_to_device, fullname, import_from_string, SimilarityFunction"),
    ("from {p}.models import Transformer, Pooling, Dense, Normalize, Router, Asym, StaticEmbedding, "
     "WeightedLayerPooling, LayerNorm, CNN, LSTM, WordEmbeddings, WordWeights, InputModule, Module, Dropout, BoW, "
     "CLIPModel"),
    "from {p}.models.tokenizer import WhitespaceTokenizer, WordTokenizer, ENGLISH_STOP_WORDS",
    "from {p}.sentence_transformer import SentenceTransformer",
    "from {p}.sentence_transformer.model import SentenceTransformer",
    "from {p}.sentence_transformer.modules import Transformer, Pooling, StaticEmbedding, InputModule, Module",
    "from {p}.sentence_transformer.modules.tokenizer import WhitespaceTokenizer",
    "from {p}.cross_encoder import CrossEncoder",
    "from {p}.cross_encoder.model import CrossEncoder",
    "from {p}.cross_encoder.modules import LogitScore, Transformer, Dense, Router",
    "from {p}.similarity_functions import SimilarityFunction, cos_sim, dot_score, maxsim, pairwise_angle_sim",
    "from {p}.quantization import quantize_embeddings, semantic_search_faiss, semantic_search_usearch",
    "from {p}.base.modules import Transformer, Router, Dense, Normalize, Module, InputModule",
    ("from {p}.base.modality import infer_modality, infer_batch_modality, is_image_url_or_path, "
     "is_audio_url_or_path, is_video_url_or_path"),
    "from {p}.util.similarity import cos_sim, pairwise_angle_sim, SimilarityFunction",
    "from {p}.util.quantization import quantize_embeddings, semantic_search_faiss, semantic_search_usearch",
    "from {p}.util.retrieval import semantic_search, paraphrase_mining, community_detection",
    "from {p}.util.tensor import normalize_embeddings, batch_to_device, truncate_embeddings",
    "from {p}.util.misc import fullname, import_from_string",
    "from {p}.util import load_file_path, load_dir_path, is_sentence_transformer_model, get_device_name",
    "from {p}.util.file_io import load_file_path, load_dir_path, is_sentence_transformer_model",
    # file-level paths of older releases (modules named like their class)
    "from {p}.SentenceTransformer import SentenceTransformer",
    "from {p}.cross_encoder.CrossEncoder import CrossEncoder",
    "from {p}.models.Pooling import Pooling",
    "from {p}.models.Transformer import Transformer",
    "from {p}.models.StaticEmbedding import StaticEmbedding",
    "from {p}.models.WordEmbeddings import WordEmbeddings",
    "from {p}.models.tokenizer.WhitespaceTokenizer import WhitespaceTokenizer",
    "from {p}.sentence_transformer.modules.pooling import Pooling",
    "from {p}.sentence_transformer.modules.static_embedding import StaticEmbedding",
    "from {p}.base.modules.transformer import Transformer",
    "from {p}.base.modules.router import Router",
    "from {p}.base.modules.input_module import InputModule",
    "from {p}.cross_encoder.modules.logit_score import LogitScore",
]


@pytest.mark.parametrize("line", IMPORT_LINES)
def test_compat_reference_import_line_works_with_the_package_renamed(line):
    namespace: dict = {}
    exec(line.format(p="omniembed"), namespace)  # noqa: S102 (our own fixed import lines)
    imported = [name.strip() for name in line.split(" import ", 1)[1].split(",")]
    for name in imported:
        assert namespace[name] is not None


def test_compat_module_path_imports_do_not_shadow_the_classes():
    # A fresh interpreter: importing the file-level alias first, then the class from the package.
    code = (
        "import omniembed.SentenceTransformer, omniembed.models.Pooling, omniembed.cross_encoder.CrossEncoder\n"
        "import omniembed.models.tokenizer.WhitespaceTokenizer\n"
        "from omniembed import SentenceTransformer\n"
        "from omniembed.models import Pooling\n"
        "from omniembed.cross_encoder import CrossEncoder\n"
        "from omniembed.models.tokenizer import WhitespaceTokenizer\n"
        "from omniembed.modules.tokenizer import WhitespaceTokenizer as Same\n"
        "assert all(isinstance(c, type) for c in (SentenceTransformer, Pooling, CrossEncoder, WhitespaceTokenizer))\n"
        "assert WhitespaceTokenizer is Same\n"
        "import omniembed.sentence_transformer.modules.pooling as pooling_module\n"
        "assert pooling_module.Pooling is Pooling\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_compat_same_objects_under_every_path():
    from omniembed import SentenceTransformer, util
    from omniembed.models import Pooling, StaticEmbedding
    from omniembed.modules.pooling import Pooling as ModulesPooling

    assert Pooling is ModulesPooling
    assert importlib.import_module("omniembed.sentence_transformer").SentenceTransformer is SentenceTransformer
    assert importlib.import_module("omniembed.base.modules.router").Router is importlib.import_module(
        "omniembed.modules").Router
    assert importlib.import_module("omniembed.similarity_functions").cos_sim is util.cos_sim
    assert importlib.import_module("omniembed.sentence_transformer.modules").StaticEmbedding is StaticEmbedding


def test_compat_unknown_names_still_raise_attribute_error():
    import omniembed
    import omniembed.models

    with pytest.raises(AttributeError):
        omniembed.models.NoSuchModule  # noqa: B018
    with pytest.raises(AttributeError):
        omniembed.NoSuchThing  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("omniembed.models.NoSuchModule")
