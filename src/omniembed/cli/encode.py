"""``omniembed encode``: embed inputs (texts, files, URLs) with a model and write ``.npy``, Parquet or JSONL."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from omniembed.cli._common import EXIT_OK, EXIT_PARTIAL, RawDefaults, positive_int, quiet_libraries, usage_error

EXAMPLES = """\
examples:
  omniembed encode "a photo of a cat" cat.jpg --model openai/clip-vit-base-patch32 -o emb.npy
  omniembed encode --input-file sentences.txt --model sentence-transformers/all-MiniLM-L6-v2 -o emb.parquet
  find photos -name '*.jpg' | omniembed encode --input-file - --model MODEL -o - --on-error skip --failures bad.jsonl
  omniembed encode "how many people live in berlin?" --query --model MODEL -o q.jsonl --normalize

Inputs follow encode()'s rules (docs/inputs.md): an existing media file, a media URL or a data: URI is media,
anything else is text. Output rows are in input order; with --on-error skip a failed input is a NaN row (.npy)
or a null embedding with an error (Parquet, JSONL).
exit codes: 0 ok, 3 some inputs failed (with --on-error skip), 2 usage error, 1 any other error."""

# Inputs per encode() call: bounds memory (decoded media and outputs) for long input lists.
CHUNK = 1024


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "encode", help="embed texts, files and URLs to .npy, .parquet or .jsonl",
        description="Embed inputs with a SentenceTransformer model and write the embeddings, one row per input.",
        epilog=EXAMPLES, formatter_class=RawDefaults,
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="texts, file paths or URLs")
    parser.add_argument("--input-file", metavar="FILE", help="more inputs, one per line (- for stdin)")
    parser.add_argument("--model", required=True, help="model id or folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help=".npy, .parquet or .jsonl file (- : JSONL "
                        "on stdout)")
    parser.add_argument("--format", choices=("npy", "parquet", "jsonl"), help="output format (default: from OUT)")
    task = parser.add_mutually_exclusive_group()
    task.add_argument("--query", action="store_true", help="encode_query (the model's query prompt/route)")
    task.add_argument("--document", action="store_true", help="encode_document (the document prompt/route)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="items per model batch")
    parser.add_argument("--precision", default="float32", choices=("float32", "int8", "uint8", "binary", "ubinary"),
                        help="embedding precision")
    parser.add_argument("--normalize", action="store_true", help="L2-normalise the embeddings")
    parser.add_argument("--truncate-dim", type=positive_int, help="keep the first N dimensions (Matryoshka)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="skip: keep going past bad inputs (their rows are empty) and exit with 3")
    parser.add_argument("--failures", metavar="FILE", help="write the failed inputs as JSON lines")
    parser.add_argument("--device", help="torch device (cpu, cuda, mps...)")
    parser.add_argument("--revision", help="model revision (hub branch, tag or commit)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    with quiet_libraries(args.debug):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    inputs = list(args.inputs)
    if args.input_file:
        inputs += _read_lines(args.input_file)
    if not inputs:
        return usage_error("encode", "nothing to encode: give INPUTs or --input-file FILE")
    if args.failures and args.on_error != "skip":
        return usage_error("encode", "--failures needs --on-error skip (with raise, the first failure stops the run)")
    from omniembed import SentenceTransformer
    from omniembed.cli._common import write_jsonl
    from omniembed.cli._outputs import format_for, open_writer
    from omniembed.errors import ConfigError

    try:
        fmt = format_for(args.output, args.format)  # a bad name fails before the model loads
    except ConfigError as exc:
        return usage_error("encode", str(exc))
    if args.output == "-" and fmt != "jsonl":
        return usage_error("encode", f"{fmt} cannot be written to stdout: give a file name, or use JSON lines")
    model = SentenceTransformer(args.model, device=args.device, revision=args.revision)
    encode = model.encode_query if args.query else model.encode_document if args.document else model.encode
    # int8/uint8 calibrate their ranges on the whole set, so they are encoded in one call; the rest stream.
    chunk = len(inputs) if args.precision in ("int8", "uint8") else CHUNK
    failures: list[dict[str, Any]] = []
    bar = _bar(len(inputs), not args.no_progress)
    writer = open_writer(args.output, total=len(inputs), fmt=fmt)
    try:
        try:
            for start in range(0, len(inputs), chunk):
                part = inputs[start:start + chunk]
                embeddings, failed = encode(
                    part, batch_size=args.batch_size, precision=args.precision, normalize_embeddings=args.normalize,
                    truncate_dim=args.truncate_dim, on_error=args.on_error, return_failures=True,
                    show_progress_bar=False, convert_to_numpy=True,
                )
                errors = {f.index: f"{type(f.error).__name__}: {f.reason}" for f in failed}
                writer.write(part, embeddings, errors)
                failures += [{"index": start + f.index, "input": part[f.index], "error": type(f.error).__name__,
                              "reason": f.reason} for f in failed]
                bar.update(len(part))
        finally:
            writer.close()
    except BaseException:
        if args.output != "-" and os.path.exists(args.output):
            os.remove(args.output)  # never leave a half-written file that looks complete
        raise
    finally:
        bar.close()
    if args.failures:
        write_jsonl(args.failures, failures)
    if failures:
        print(f"{len(failures)} of {len(inputs)} inputs failed" + (f" (see {args.failures})" if args.failures else ""),
              file=sys.stderr)
        for failure in failures[:10]:
            print(f"  input {failure['index']}: {failure['error']}: {failure['reason']}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _read_lines(path: str) -> list[str]:
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        return [line.rstrip("\n") for line in handle if line.strip()]
    finally:
        if handle is not sys.stdin:
            handle.close()


def _bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="input", file=sys.stderr, disable=not enabled, desc="encoding")
