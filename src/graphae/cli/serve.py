"""``graphae serve``: a trained model as an HTTP JSON service (see :mod:`graphae.serving`)."""

from __future__ import annotations

import argparse
from typing import Any

from graphae.cli.common import add_legacy_option, add_model_option, log


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return value


def add_command(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve a trained model over HTTP (JSON: /recommend, /predict, /embed; docs at /docs)",
    )
    add_model_option(serve)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--quiet", action="store_true", help="no request log")
    add_legacy_option(serve)
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae import serving

    app = serving.load_app(args.model, legacy=args.legacy)
    serving.run(
        app,
        host=args.host,
        port=args.port,
        log=not args.quiet,
        on_listen=lambda url: log(args.quiet, f"graphae: serving {args.model} on {url} (docs: {url}/docs)"),
    )
    log(args.quiet, "graphae: server stopped")
    return 0
