"""``omniembed index``: embed a folder (files, URLs, stdin lists, manifests) into a store, incrementally."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from omniembed.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    RawDefaults,
    positive_int,
    quiet_libraries,
    usage_error,
    write_jsonl,
)

EXAMPLES = """\
examples:
  omniembed index photos/ --model openai/clip-vit-base-patch32 --db photos.db
  omniembed index photos/ --db photos.db            # again: only new or changed files are embedded
  find . -name '*.wav' | omniembed index - --model laion/clap-htsat-unfused --db sounds.db
  omniembed index --manifest catalogue.csv --path-column image --model MODEL --db shop.db
  omniembed index https://example.com/a.jpg --model MODEL --db web.db --failures failed.jsonl
  omniembed index reports/ --model MODEL --db docs.db --text-layer   # PDFs: one row per page (image + text)

exit codes: 0 all indexed, 3 some items failed (listed, and written to --failures), 2 usage error,
1 any other error, 130 interrupted (everything committed so far is kept; run again to resume)."""

SHOWN_FAILURES = 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "index", help="index folders of text, images, audio and video into a vector store",
        description="Walk folders (and files, URLs, '-' for paths on stdin, manifests), detect each file's "
        "modality by content, embed with encode_document and store path, modality, size, mtime, content hash, "
        "metadata and the vector in a LanceDB store. A second run embeds only new or changed files and removes "
        "deleted ones.", epilog=EXAMPLES, formatter_class=RawDefaults,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="folders, files, URLs, or - to read paths from stdin")
    parser.add_argument("--db", required=True, help="the store: a folder (created if missing)")
    parser.add_argument("--model", help="model id or folder; required for a new store, else the store's model")
    parser.add_argument("--revision", help="model revision (hub branch, tag or commit)")
    parser.add_argument("--manifest", action="append", default=[], metavar="FILE",
                        help="CSV/TSV, JSONL or Parquet listing files or URLs, other columns become metadata "
                        "(repeatable)")
    parser.add_argument("--path-column", help="the manifest's path/URL column (default: path, url, file, ...)")
    parser.add_argument("--rebuild", action="store_true", help="delete the store's contents and index from scratch")
    parser.add_argument("--failures", metavar="FILE", help="write the items that failed as JSON lines")
    parser.add_argument("--retry-failed", action="store_true", help="retry files that failed before and did not change")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="items per model batch")
    parser.add_argument("--commit-every", type=positive_int, default=256,
                        help="files per commit (an interrupted run loses at most this many)")
    parser.add_argument("--num-workers", type=int, default=None, help="media decoding threads (0: inline)")
    parser.add_argument("--device", help="torch device (cpu, cuda, mps...)")
    parser.add_argument("--ann-threshold", type=int, default=None,
                        help="rows from which an ANN index is built (default 50000; 0: never)")
    parser.add_argument("--text-layer", action="store_true",
                        help="PDF documents: also embed each page's text layer (pages are always embedded as images "
                        "when the model takes images; a text-only model embeds the text layer anyway)")
    parser.add_argument("--page-dpi", type=float, default=72.0, help="PDF documents: page render resolution")
    parser.add_argument("--include-hidden", action="store_true", help="also index files and folders named .*")
    parser.add_argument("--allow-private-urls", action="store_true",
                        help="fetch URLs on private/loopback addresses (refused by default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser


def run(args: argparse.Namespace) -> int:
    with quiet_libraries(args.debug):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from omniembed.index import MediaIndex
    from omniembed.index.store import ANN_THRESHOLD, Store

    if not args.paths and not args.manifest:
        return usage_error("index", "nothing to index: give folders, files, URLs, '-' (stdin) or --manifest FILE")
    exists = Store.exists(args.db)
    if args.model is None and (args.rebuild or not exists):
        what = "--rebuild needs" if exists else f"there is no store at {args.db!r} yet, so it needs"
        return usage_error("index", f"{what} --model MODEL")
    if args.rebuild:
        from omniembed.index.store import write_lock

        with write_lock(args.db):
            Store.drop(args.db)  # before MediaIndex: --rebuild is how a store moves to another model
    threshold = ANN_THRESHOLD if args.ann_threshold is None else (args.ann_threshold or None)
    index = MediaIndex(args.db, args.model, revision=args.revision, device=args.device, ann_threshold=threshold)
    report = index.index(
        args.paths, manifests=args.manifest, path_column=args.path_column, include_hidden=args.include_hidden,
        batch_size=args.batch_size, commit_every=args.commit_every, num_workers=args.num_workers,
        retry_failed=args.retry_failed, progress=not args.no_progress, fetch=_fetch_policy(args),
        text_layer=args.text_layer, page_dpi=args.page_dpi,
    )
    if args.failures:
        write_jsonl(args.failures, (f.to_dict() for f in report.failed))
    _print_report(report, args)
    if report.interrupted:
        print("interrupted: everything committed so far is kept; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_PARTIAL if report.failed else EXIT_OK


def _fetch_policy(args: argparse.Namespace) -> Any:
    if not args.allow_private_urls:
        return None
    from omniembed.inputs import FetchPolicy

    return FetchPolicy(allow_private_hosts=True)


def _print_report(report: Any, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    print(report.summary())
    for failure in report.failed[:SHOWN_FAILURES]:
        print(f"  failed: {failure.path}: {failure.error}: {failure.reason}")
    hidden = len(report.failed) - SHOWN_FAILURES
    if hidden > 0:
        where = f"see {args.failures}" if args.failures else "use --failures FILE for the full list"
        print(f"  ... and {hidden} more ({where})")
    if report.ann_index_built:
        print(f"built an ANN index over {report.total_rows} rows")
