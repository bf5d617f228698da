"""``omniembed search``: query a store with text or an example file (the search page: ``omniembed serve --db``)."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

from omniembed.cli._common import EXIT_OK, RawDefaults, positive_int, quiet_libraries, usage_error

EXAMPLES = """\
examples:
  omniembed search "a dog on a beach" --db photos.db
  omniembed search --query-file query.jpg --db photos.db --modality image      # image -> image
  omniembed search "invoice" --db docs.db --where "size > 10000" --top-k 5 --json
  omniembed search "red sneakers" --db shop.db --where "json_get_string(metadata, 'brand') = 'acme'"
  omniembed search "berlin skyline" --db mixed.db --rerank cross-encoder/ms-marco-MiniLM-L6-v2
  omniembed serve --db photos.db                        # the search page on http://127.0.0.1:8000/

--where takes SQL over the columns id, path, page, modality, size, mtime, content_hash, metadata, text.
exit codes: 0 ok (also when nothing matches), 2 usage error, 1 any other error."""

TABLE_COLUMNS = ("rank", "score", "modality", "path", "metadata")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "search", help="search a store by text or by example",
        description="Embed the query with the store's model and return the nearest items (exact search below "
        "50,000 rows, an ANN index above). Results: a table on stdout, or JSON lines with --json.",
        epilog=EXAMPLES, formatter_class=RawDefaults,
    )
    parser.add_argument("query", nargs="?", help="the query text")
    parser.add_argument("--db", required=True, help="the store (made by omniembed index)")
    parser.add_argument("--query-file", metavar="FILE", help="query by example: an image, audio, video or text file")
    parser.add_argument("--top-k", type=positive_int, default=10, help="number of results")
    parser.add_argument("--modality", choices=("text", "image", "audio", "video", "document"),
                        help="keep one modality (document: pages of PDFs)")
    parser.add_argument("--where", metavar="SQL", help="SQL filter, e.g. \"path LIKE '%%/2024/%%'\"")
    parser.add_argument("--rerank", metavar="MODEL", help="re-score the best candidates with this CrossEncoder")
    parser.add_argument("--rerank-candidates", type=positive_int, default=50, help="vector hits given to --rerank")
    parser.add_argument("--exact", action="store_true", help="compare every row even when an ANN index exists")
    parser.add_argument("--model", help="the store's model (default: the one recorded in the store)")
    parser.add_argument("--device", help="torch device (cpu, cuda, mps...)")
    parser.add_argument("--json", action="store_true", help="one JSON object per result")
    return parser


def run(args: argparse.Namespace) -> int:
    with quiet_libraries(args.debug):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from omniembed.index import MediaIndex

    if (args.query is None) == (args.query_file is None):
        return usage_error("search", "give either a QUERY or --query-file FILE (not both)")
    query: Any = args.query if args.query is not None else pathlib.Path(args.query_file)
    index = MediaIndex.open(args.db, args.model, device=args.device)
    hits = index.search(query, top_k=args.top_k, where=args.where, modality=args.modality, rerank=args.rerank,
                        rerank_candidates=args.rerank_candidates, exact=True if args.exact else None)
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
    else:
        print_table(hits)
    if not hits:
        print("no results", file=sys.stderr)
    return EXIT_OK


def print_table(hits: list[Any]) -> None:
    rows = [(str(h.rank), f"{h.score:.4f}", h.modality, h.path + (f" (page {h.page})" if h.page else ""),
             json.dumps(h.metadata, ensure_ascii=False) if h.metadata else "") for h in hits]
    if not rows:
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(TABLE_COLUMNS)]
    widths[-1] = len(TABLE_COLUMNS[-1])  # the last column is not padded
    print("  ".join(c.ljust(w) for c, w in zip(TABLE_COLUMNS, widths)).rstrip())
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1]), *(v.ljust(w) for v, w in zip(row[2:], widths[2:]))]
        print("  ".join(cells).rstrip())
