"""``omniembed serve``: the HTTP server (OpenAI / Cohere / Jina / TEI shapes) for embedding and reranking models.

Example:
    >>> import argparse
    >>> from omniembed.cli import serve
    >>> parser = argparse.ArgumentParser(prog="omniembed")
    >>> sub = serve.add_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["serve", "minilm=./models/minilm", "--reranker", "./models/ce", "--port", "0"])
    >>> [(s.name, s.kind) for s in serve.model_specs(args)]
    [('minilm', 'embedding'), ('./models/ce', 'rerank')]
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import os
import signal
import sys
import threading
from typing import Any

__all__ = ["add_parser", "model_specs", "run"]

_EXAMPLES = """\
examples:
  omniembed serve sentence-transformers/all-MiniLM-L6-v2
  omniembed serve --model clip=openai/clip-vit-base-patch32 --model minilm=./models/minilm \\
                  --reranker cross-encoder/ms-marco-MiniLM-L6-v2 --port 8080
  OMNIEMBED_API_KEY=s3cret omniembed serve ./my-model --host 0.0.0.0 --allow-local-files /srv/media
  omniembed serve --db photos.db      # + the search page of a store (omniembed index) on /, with its model

  curl http://127.0.0.1:8000/v1/embeddings -H 'Content-Type: application/json' \\
       -d '{"model": "minilm", "input": ["a photo of a cat", "https://example.com/cat.jpg"]}'

Routes: POST /v1/embeddings, POST /v1/rerank (also /rerank, /v2/rerank), GET /v1/models, GET /health,
GET /metrics, GET /docs. Ctrl-C or SIGTERM finishes the requests in flight, then exits 0. See docs/serving.md.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "serve", help="serve embedding and reranking models over HTTP (OpenAI/Cohere-compatible)",
        description="Serve embedding models (POST /v1/embeddings) and rerankers (POST /v1/rerank) for text, "
                    "images, audio and video, with dynamic batching.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", metavar="MODEL",
                   help="an embedding model: a folder or a hub id; NAME=PATH sets the name requests use")
    p.add_argument("--model", dest="models", action="append", default=[], metavar="[NAME=]PATH",
                   help="another embedding model (repeatable)")
    p.add_argument("--reranker", dest="rerankers", action="append", default=[], metavar="[NAME=]PATH",
                   help="a CrossEncoder reranker (repeatable)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--api-key", default=None,
                   help="require 'Authorization: Bearer KEY' on every route but /health (default: $OMNIEMBED_API_KEY)")
    p.add_argument("--max-batch-size", type=int, default=32, metavar="N",
                   help="items per model call, across concurrent requests (default 32)")
    p.add_argument("--batch-wait-ms", type=float, default=5.0, metavar="MS",
                   help="how long the oldest queued item may wait for others to join its batch (default 5)")
    p.add_argument("--max-items", type=int, default=2048, metavar="N",
                   help="items (or rerank documents) per request (default 2048)")
    p.add_argument("--max-body-mb", type=float, default=64.0, metavar="MB",
                   help="largest request body (default 64)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps… (default: the best available)")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let URLs in requests reach loopback and private addresses (off: SSRF protection)")
    p.add_argument("--allow-local-files", metavar="DIR", default=None,
                   help="let requests name files inside DIR by path (off: local paths are refused)")
    p.add_argument("--decode-workers", type=int, default=None, metavar="N",
                   help="threads fetching and decoding media during each model call (default min(4, CPUs))")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="torch intra-op threads")
    p.add_argument("--graceful-timeout", type=float, default=30.0, metavar="S",
                   help="on shutdown, seconds to wait for requests in flight (default 30)")
    p.add_argument("--access-log", action="store_true", help="log every request (uvicorn's access log)")
    p.add_argument("--db", default=None, metavar="DB",
                   help="also serve the search page of this store (made by omniembed index) on /; the store's "
                        "model is served too unless a MODEL given here is it")
    return p


def model_specs(args: argparse.Namespace) -> list[Any]:
    from omniembed.server.served import ModelSpec

    embedders = ([args.model] if args.model else []) + list(args.models)
    return [ModelSpec.parse(m, "embedding") for m in embedders] + [ModelSpec.parse(m, "rerank")
                                                                   for m in args.rerankers]


class _Announcer:
    """Prints the URL and the models once the socket is bound and the models are loaded (in either order)."""

    def __init__(self, settings: Any, search_page: str | None = None) -> None:
        self.settings, self.search_page = settings, search_page
        self.url: str | None = None
        self.state: Any = None
        self._lock = threading.Lock()
        self._done = False

    def bound(self, url: str) -> None:
        with self._lock:
            self.url = url
            loading = self.state is None
        if loading:
            print(f"omniembed serve: listening on {url}; /health answers 503 until the models are loaded",
                  file=sys.stderr, flush=True)
        self._maybe_print()

    def ready(self, state: Any) -> None:
        with self._lock:
            self.state = state
        self._maybe_print()

    def _maybe_print(self) -> None:
        with self._lock:
            if self._done or self.url is None or self.state is None:
                return
            self._done = True
        lines = [f"omniembed serve: {self.url}  (OpenAI base_url {self.url}/v1, docs {self.url}/docs)"]
        for served in self.state.models:
            info = served.describe()
            what = ", ".join(info["modalities"])
            extra = f"  {info['dimensions']} dims" if info.get("dimensions") else ""
            if info.get("prompts"):
                extra += f"  prompts: {', '.join(info['prompts'])}"
            lines.append(f"  {served.kind:<9}  {served.name}  [{what}]{extra}")
        if self.search_page:
            lines.append(f"  search page {self.url}/  (store {self.search_page})")
        auth = "API key required" if self.settings.api_key else "no API key"
        lines.append(f"ready ({auth}; Ctrl-C to stop)")
        print("\n".join(lines), flush=True)


def run(args: argparse.Namespace) -> int:
    _reexec_with_passive_openmp()
    from omniembed.optional import require

    uvicorn = require("uvicorn", name="uvicorn", purpose="omniembed serve", extra="server", spec="uvicorn")
    from omniembed.server import ServerSettings, create_app, load_models

    specs = model_specs(args)
    page = None
    if args.db:
        from omniembed.index.serving import ServedSearchPage

        page = ServedSearchPage(args.db, specs)
        specs = page.specs
    if not specs:
        print("omniembed serve: error: give at least one MODEL, --model, --reranker or --db", file=sys.stderr)
        return 2
    settings = ServerSettings(
        host=args.host, port=args.port, api_key=args.api_key or os.environ.get("OMNIEMBED_API_KEY") or None,
        max_batch_size=args.max_batch_size, batch_wait_ms=args.batch_wait_ms, max_items=args.max_items,
        max_body_mb=args.max_body_mb, allow_private_urls=args.allow_private_urls,
        allow_local_files=args.allow_local_files, decode_workers=args.decode_workers, device=args.device)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not _is_loopback(settings.host) and not settings.api_key:
        print(f"omniembed serve: warning: listening on {settings.host} without an API key; anyone who can reach "
              "this port can use it (set --api-key or OMNIEMBED_API_KEY)", file=sys.stderr)

    announcer = _Announcer(settings, args.db)
    app = create_app(lambda: load_models(specs, device=settings.device), settings,
                     extra_routers=[page.router] if page else ())
    state = app.state.omniembed
    if page is not None:
        state.on_ready.append(page.ready)  # before the announcer: "ready" means the page searches too
    config = uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on",
                            log_level="debug" if args.debug else "warning", access_log=args.access_log,
                            timeout_graceful_shutdown=args.graceful_timeout, server_header=False)
    server = _make_server(uvicorn, config, announcer, on_exit=state.flush)
    state.on_ready.append(_freeze_loaded_objects)
    state.on_ready.append(announcer.ready)
    state.on_load_error.append(lambda exc: setattr(server, "should_exit", True))
    print(f"omniembed serve: loading {len(specs)} model(s)…", file=sys.stderr, flush=True)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits like this when it cannot bind the port
        if exc.code:
            print(f"omniembed serve: error: could not serve on {settings.host}:{settings.port}", file=sys.stderr)
            return 1
    if state.status == "failed":
        if args.debug and state.error is not None:
            raise state.error
        error = state.error
        print(f"omniembed serve: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print("omniembed serve: stopped", file=sys.stderr)
    return 0


def _freeze_loaded_objects(_state: object) -> None:
    """Move everything alive after loading (models, tokenizers, modules: ~400,000 objects for MiniLM) out of
    the garbage collector's sight.

    Requests allocate many short-lived objects, so the collector runs often, and each full collection walked the
    whole loaded heap: measured with 32 concurrent MiniLM clients on 2 cores, p99 latency was 280-360 ms with the
    default collector and 154-199 ms after ``gc.freeze()`` (p50 and throughput unchanged). Loaded objects live as
    long as the server, so hiding them from the collector frees nothing that would otherwise be freed.
    """
    gc.collect()
    gc.freeze()


def _reexec_with_passive_openmp() -> None:
    """Restart this command with ``OMP_WAIT_POLICY=PASSIVE`` unless the variable is already set.

    torch's OpenMP threads spin while they wait for work by default. On a server whose cores are shared (other
    processes, container CPU quotas) spinning threads steal the cores the model needs: measured on a busy 2-core
    machine, a 16-sentence MiniLM call took 2.1 s with spinning threads and 0.09 s with passive ones. OpenMP
    reads the variable once, when torch is loaded, so it has to be set before the process starts. Only the
    ``omniembed serve`` command line restarts itself (never a caller of ``run()`` from Python); set
    ``OMP_WAIT_POLICY`` yourself (e.g. ACTIVE) to keep your choice.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    launched_as_cli = script == "omniembed" or (script == "__main__.py" and
                                                os.path.basename(os.path.dirname(sys.argv[0])) == "omniembed")
    if not launched_as_cli or "serve" not in sys.argv[1:]:
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def _make_server(uvicorn: Any, config: Any, announcer: _Announcer, on_exit: Any) -> Any:
    class Server(uvicorn.Server):
        """uvicorn's server, with a drain that ends in exit code 0 (uvicorn re-raises the signal after
        shutting down, which would end the process with SIGTERM's status)."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
                return
            if not self.should_exit:
                print("omniembed serve: shutting down after the requests in flight…", file=sys.stderr, flush=True)
            self.should_exit = True
            on_exit()  # queued items run now: no new request will join their batches

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and getattr(self, "servers", None):
                host, port = self.servers[0].sockets[0].getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                announcer.bound(f"http://{shown}:{port}")

    return Server(config)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


