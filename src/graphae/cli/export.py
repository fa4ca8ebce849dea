"""``graphae export``: the trained encoder as an ONNX model (see :mod:`graphae.export`)."""

from __future__ import annotations

import argparse
from typing import Any

from graphae.cli.common import add_legacy_option, add_model_option, check_out_file, load_model, log


def add_command(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="write the trained encoder as an ONNX model, for serving outside Python"
    )
    add_model_option(export)
    export.add_argument("--format", choices=["onnx"], default="onnx", help="file format (default onnx)")
    export.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="file to write (inputs x [N, F] float32 and edge_index [2, E] int64, output mu [N, d])",
    )
    export.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    add_legacy_option(export)
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.export import check_exportable, export_onnx, require_exporter

    check_out_file(args.out)
    require_exporter()  # a missing extra is said before the model is read
    model = load_model(args.model, args.legacy)
    check_exportable(model)
    export_onnx(model, args.out)
    log(
        args.quiet,
        f"graphae: wrote {args.out}: the {model.model_name or type(model).__name__} encoder "
        f"(x [N, {model.in_channels_}] float32, edge_index [2, E] int64 -> mu [N, {model.embedding_.shape[1]}])",
    )
    return 0
