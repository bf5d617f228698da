"""The reference's other modules, both ways: folders saved by sentence-transformers load in omniembed with the same
numbers, and folders omniembed saves load in sentence-transformers with the same numbers.

    python benchmarks/compat_modules.py              # needs the reference virtualenv (make bench-ref)
    python benchmarks/compat_modules.py --write      # also (re)writes tests/compat/fixtures/

Cases: StaticEmbedding (current layout and the older ``0_StaticEmbedding/`` one), GloVe-style WordEmbeddings
(+ WordWeights, + LSTM, + CNN/LayerNorm/Dropout, and the older ``0_WordEmbeddings/`` + ``pytorch_model.bin`` one),
BoW, and WeightedLayerPooling on the tiny BERT. The reference builds and saves each model and records its
outputs (``expected.json``); omniembed loads each folder and compares, saves it again, and the reference loads
omniembed's copy and compares. The tiny BERT's weights are not committed: the tests rebuild them with
``support.models.build_bert`` (deterministic weights), and ``expected.json`` records a checksum to check that.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import emit, print_table, reference_python, run_side

FIXTURES = HERE.parent / "tests" / "compat" / "fixtures"
TEXTS = [
    "A photo of a cat!", "the dog is barking in the park", "Berlin is the capital of Germany.",
    "zzz qqq", "a cat, a dog and a photo", "",
]
PROMPT = "query: "
GLOVE = [  # word + 6 values, GloVe's text format
    ("the", [0.1, -0.2, 0.3, 0.0, 0.5, -0.1]), ("cat", [0.9, 0.1, -0.4, 0.2, 0.0, 0.3]),
    ("dog", [0.8, 0.2, -0.3, 0.1, 0.1, 0.4]), ("photo", [-0.5, 0.6, 0.2, 0.9, -0.1, 0.0]),
    ("berlin", [0.0, -0.7, 0.5, 0.3, 0.6, -0.2]), ("capital", [0.2, -0.6, 0.4, 0.1, 0.7, -0.3]),
    ("germany", [0.1, -0.8, 0.6, 0.2, 0.5, -0.1]), ("park", [0.3, 0.3, 0.1, -0.2, 0.2, 0.5]),
    ("barking", [0.7, 0.4, -0.2, 0.0, 0.1, 0.6]), ("query", [-0.3, 0.0, 0.0, 0.4, 0.2, 0.1]),
    ("a", [0.05, 0.05, 0.05, 0.05, 0.05, 0.05]),
]
IDF = {"cat": 2.0, "dog": 1.5, "berlin": 3.0, "germany": 2.5, "the": 0.1}
CASES = ["static", "static_legacy", "glove_weights", "glove_lstm", "glove_cnn", "glove_legacy", "bow", "wlp"]
# The tiny BERT's weights are rebuilt by the tests (deterministic); its tokenizer is kept: the toy WordPiece
# trainer numbers its vocabulary differently from one process to the next.
BERT_FILES = ("model.safetensors",)


def _static_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=120, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tokenizer.train_from_iterator([t for t in TEXTS for _ in range(5)] + ["query: photos of cats"] * 5, trainer)
    return tokenizer


def build(workdir: Path, bert: str) -> dict:
    """Reference side: build, save and encode every case; returns the expected outputs."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        CNN,
        LSTM,
        BoW,
        Dropout,
        LayerNorm,
        Normalize,
        Pooling,
        StaticEmbedding,
        Transformer,
        WeightedLayerPooling,
        WordEmbeddings,
        WordWeights,
    )
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    workdir.mkdir(parents=True, exist_ok=True)
    glove = workdir / "glove.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in GLOVE))

    def word_embeddings():
        return WordEmbeddings.from_text_file(str(glove), tokenizer=WhitespaceTokenizer(do_lower_case=True))

    torch.manual_seed(0)
    modules = {
        "static": lambda: [StaticEmbedding(_static_tokenizer(), embedding_dim=8)],
        "glove_weights": lambda: _with_word_weights(word_embeddings(), WordWeights, Pooling),
        "glove_lstm": lambda: [word_embeddings(), LSTM(6, hidden_dim=5), Pooling(10, "max")],
        "glove_cnn": lambda: [word_embeddings(), CNN(6, out_channels=4, kernel_sizes=[1, 3]),
                              Pooling(8, ("mean", "max")), LayerNorm(16), Dropout(0.1), Normalize()],
        "bow": lambda: [BoW([w for w, _ in GLOVE], IDF, unknown_word_weight=0.25)],
        "wlp": lambda: [Transformer(bert, config_kwargs={"output_hidden_states": True}),
                        WeightedLayerPooling(32, num_hidden_layers=2, layer_start=1), Pooling(32)],
    }
    expected: dict = {"texts": TEXTS, "prompt": PROMPT}
    for case, make in modules.items():
        built = make()
        for module in built:  # non-trivial learned parameters (LayerNorm / layer weights start at 1 and 0)
            for name, param in module.named_parameters():
                if "layer_weights" in name or isinstance(module, LayerNorm):
                    with torch.no_grad():
                        param.copy_(torch.rand_like(param) + 0.5)
        model = SentenceTransformer(modules=built, device="cpu")
        folder = workdir / case
        model.save(str(folder))
        expected[case] = encode_all(model)
    # older layouts, as hub folders from sentence-transformers v2/v3 have them
    _legacy_layout(workdir / "static", workdir / "static_legacy", "0_StaticEmbedding",
                   "sentence_transformers.models.StaticEmbedding")
    legacy_glove = SentenceTransformer(str(workdir / "glove_weights"), device="cpu")
    legacy_glove.save(str(workdir / "glove_legacy_src"), safe_serialization=False)
    _legacy_layout(workdir / "glove_legacy_src", workdir / "glove_legacy", "0_WordEmbeddings",
                   "sentence_transformers.models.WordEmbeddings")
    config = workdir / "glove_legacy" / "0_WordEmbeddings" / "wordembedding_config.json"
    data = json.loads(config.read_text())
    data["tokenizer_class"] = "sentence_transformers.models.tokenizer.WhitespaceTokenizer.WhitespaceTokenizer"
    config.write_text(json.dumps(data))
    for case in ("static_legacy", "glove_legacy"):
        expected[case] = encode_all(SentenceTransformer(str(workdir / case), device="cpu"))
    expected["bert_checksum"] = _checksum(bert)
    return expected


def _with_word_weights(word_embeddings, word_weights_class, pooling_class) -> list:
    return [word_embeddings, word_weights_class(word_embeddings.tokenizer.get_vocab(), IDF, 0.5), pooling_class(6)]


def _legacy_layout(source: Path, target: Path, sub: str, type_path: str) -> None:
    """The first module moved from the root into ``sub/`` and named by its old class path."""
    shutil.copytree(source, target)
    entries = json.loads((target / "modules.json").read_text())
    (target / sub).mkdir()
    for name in ("model.safetensors", "pytorch_model.bin", "tokenizer.json", "wordembedding_config.json",
                 "whitespacetokenizer_config.json"):
        if (target / name).exists():
            shutil.move(str(target / name), str(target / sub / name))
    entries[0].update(path=sub, type=type_path)
    (target / "modules.json").write_text(json.dumps(entries, indent=2))


def _checksum(folder: str) -> float:
    from safetensors.numpy import load_file

    return float(sum(abs(v).sum() for v in load_file(str(Path(folder) / "model.safetensors")).values()))


def encode_all(model) -> dict:
    return {
        "plain": model.encode(TEXTS).tolist(),
        "prompt": model.encode(TEXTS, prompt=PROMPT).tolist(),
        "normalized_batch_size_2": model.encode(TEXTS, normalize_embeddings=True, batch_size=2).tolist(),
        "dimension": model.get_embedding_dimension(),
    }


def load_and_encode(side: str, folder: str, out: str) -> None:
    if side == "omniembed":
        from omniembed import SentenceTransformer
    else:
        from sentence_transformers import SentenceTransformer
    Path(out).write_text(json.dumps(encode_all(SentenceTransformer(folder, device="cpu"))))
    emit({"ok": True})


def omniembed_resave(source: str, target: str) -> None:
    from omniembed import SentenceTransformer

    SentenceTransformer(source, device="cpu").save(target)
    emit({"ok": True})


def _max_diff(reference: dict, other: dict) -> str:
    """Largest difference over the rows the reference computes finitely. Texts without any known word give the
    reference -inf (max pooling) or NaN (after LayerNorm), omniembed zeros (a documented departure): counted apart."""
    import numpy as np

    worst, departures = 0.0, 0
    for key in ("plain", "prompt", "normalized_batch_size_2"):
        ref, got = np.asarray(reference[key], dtype=np.float64), np.asarray(other[key], dtype=np.float64)
        finite = np.isfinite(ref).all(axis=1)
        departures += int((~finite & np.isfinite(got).all(axis=1)).sum())
        worst = max(worst, float(np.abs(ref[finite] - got[finite]).max()))
    return f"{worst:.1e}" + (f" ({departures} empty-text rows finite)" if departures else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--action")
    parser.add_argument("--folder")
    parser.add_argument("--target")
    parser.add_argument("--out")
    parser.add_argument("--bert")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if args.action == "build":
        expected = build(Path(args.folder), args.bert)
        Path(args.out).write_text(json.dumps(expected))
        return emit({"ok": True})
    if args.action == "encode":
        return load_and_encode(args.side, args.folder, args.out)
    if args.action == "resave":
        return omniembed_resave(args.folder, args.target)

    ref_python = reference_python()
    if ref_python is None:
        sys.exit("Reference virtualenv not found: run `make bench-ref` first.")
    from support.models import build_bert

    script = Path(__file__).resolve()
    work = Path(tempfile.mkdtemp(prefix="omniembed-compat-modules-"))
    bert = str(build_bert(work / "bert"))
    run_side(ref_python, script, ["--action", "build", "--folder", str(work / "ref"), "--bert", bert,
                                  "--out", str(work / "expected.json")])
    expected = json.loads((work / "expected.json").read_text())
    rows = []
    for case in CASES:
        folder = work / "ref" / case
        run_side(sys.executable, script, ["--action", "encode", "--side", "omniembed", "--folder", str(folder),
                                          "--out", str(work / f"{case}-om.json")])
        loaded = json.loads((work / f"{case}-om.json").read_text())
        resaved = work / "om" / case
        run_side(sys.executable, script, ["--action", "resave", "--folder", str(folder), "--target", str(resaved)])
        run_side(ref_python, script, ["--action", "encode", "--side", "reference", "--folder", str(resaved),
                                      "--out", str(work / f"{case}-back.json")])
        back = json.loads((work / f"{case}-back.json").read_text())
        rows.append((case, _max_diff(expected[case], loaded), _max_diff(expected[case], back),
                     "yes" if loaded["dimension"] == back["dimension"] == expected[case]["dimension"] else "NO"))
    print_table("Reference modules across libraries (max |diff| of embeddings vs the reference's own)", rows,
                ("case", "reference saves, omniembed loads", "omniembed saves, reference loads", "dimension equal"))
    if args.write:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for case in CASES:
            if (FIXTURES / case).exists():
                shutil.rmtree(FIXTURES / case)
            shutil.copytree(work / "ref" / case, FIXTURES / case, ignore=_skip_bert if case == "wlp" else _skip_card)
        (FIXTURES / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        print(f"fixtures written to {FIXTURES}")


def _skip_card(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "README.md"]


def _skip_bert(directory: str, names: list[str]) -> list[str]:
    """The tiny BERT's weights are rebuilt by the tests; README is not needed either."""
    root = Path(directory).name == "wlp"
    return [n for n in names if (root and n in BERT_FILES) or n == "README.md"]


if __name__ == "__main__":
    main()
