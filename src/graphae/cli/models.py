"""``graphae models``: the registered models, one per line: the name, then a description."""

from __future__ import annotations

import argparse
from typing import Any


def add_command(sub: Any) -> None:
    models = sub.add_parser("models", help="list the models graphae can train")
    models.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.registry import models

    entries = models()
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.description}")
    return 0
