"""``graphae partition`` and ``graphae train --partitions DIR`` (partitioned training under torchrun)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from graphae.cli import partition_resume
from graphae.cli.common import UserError, positive_int, seed
from graphae.errors import GraphaeError, InputError


def add_command(sub: Any) -> None:
    cmd = sub.add_parser(
        "partition",
        help="split a graph into parts for training across processes or machines",
        description="Split the edges into training, validation and test (seeded), assign every node "
        "to one of P parts, and write one folder per part (its nodes and their ids, their training rows and features, "
        "its halo of neighbours owned elsewhere, its held-out pairs) with a manifest of checksums, sizes "
        "and cut statistics. Train with `torchrun --nproc-per-node P -m graphae train --partitions DIR`.",
    )
    cmd.add_argument(
        "--edges", metavar="FILE", required=True, help="edge list: CSV, TSV, whitespace text or Parquet"
    )
    for end in ("source", "target", "weight"):
        cmd.add_argument(f"--{end}-col", metavar="NAME", help=f"--edges with a header: the {end} column")
    cmd.add_argument(
        "--features", metavar="FILE", help="node features keyed by id: CSV/TSV/Parquet, .npy or .npz"
    )
    cmd.add_argument(
        "--parts", type=positive_int, required=True, metavar="P", help="number of parts (= processes)"
    )
    cmd.add_argument(
        "--method",
        choices=("metis", "hash"),
        default="metis",
        help="metis (default; pip install 'graphae[partition]'): few cut edges; hash: no dependency, any size",
    )
    cmd.add_argument("--seed", type=seed, default=0, help="seed of the edge split and of METIS")
    cmd.add_argument("--out", metavar="DIR", required=True, help="folder of the parts")
    cmd.add_argument("--overwrite", action="store_true", help="replace a partition folder graphae wrote")
    cmd.add_argument("--quiet", action="store_true", help="print nothing on success")
    cmd.set_defaults(handler=cmd_partition)


def cmd_partition(args: argparse.Namespace) -> int:
    from graphae.data.files import load_graph
    from graphae.partition import partition_graph

    columns = {f"{c}_col": getattr(args, f"{c}_col") for c in ("source", "target", "weight")}
    graph = load_graph(args.edges, features=args.features, **columns)
    try:
        manifest = partition_graph(
            graph, args.parts, args.method, args.out, seed=args.seed, overwrite=args.overwrite
        )
    except InputError as err:
        raise UserError(str(err)) from None
    if not args.quiet:
        cut = manifest["cut"]
        print(
            f"wrote {args.parts} parts of {manifest['num_nodes']} nodes to {args.out} ({args.method}): "
            f"edge cut {cut['edge_cut_fraction']:.1%}, halo fraction {cut['halo_fraction']:.3f}, "
            f"balance {cut['balance']:.3f}"
        )
    return 0


# The options of `graphae train` a partitioned run uses; every other one is refused when given.
_USED = (
    "partitions", "model", "loss", "hidden", "latent", "lr", "epochs", "seed", "eval_every",
    "batch_size", "device", "threads", "out", "overwrite", "quiet", "config", "help",
    "checkpoint_every", "resume",
)  # fmt: skip
_DATA = "it trains on the parts' own data and split"
_NO_SELECTION = "a partitioned run trains all --epochs and keeps the last epoch, no best-epoch selection yet"
# Why an option is refused (any other: the partitioned GAE takes only the options of _USED).
_WHY = {
    **dict.fromkeys(
        ("dataset", "edges", "source_col", "target_col", "weight_col", "features", "directed",
         "reverse_edges", "data_dir", "download", "task", "ranking_negatives", "negatives"),
        _DATA,
    ),
    "patience": _NO_SELECTION, "select_best": _NO_SELECTION,
    "runs": "a partitioned run is one run: start one per --seed",
    "report": "it writes metrics.json, history.json and the embedding shards, no report",
}  # fmt: skip


def train_partitions(args: argparse.Namespace, fresh: argparse.ArgumentParser) -> int:
    """``graphae train --partitions DIR``: each rank loads its part and trains one GAE with the others.

    ``fresh`` is a train parser with the model's options and their own defaults (no --config file's).
    """
    from graphae.partition import read_manifest
    from graphae.runfolder.partitioned import FORMAT
    from graphae.training import distributed, resolve_device
    from graphae.training.partitioned import fit_partitioned, peak_rss

    _check_options(args, fresh)
    root = Path(args.partitions)
    try:
        manifest = read_manifest(root)
        device = resolve_device(args.device)
    except GraphaeError as err:
        raise UserError(f"--partitions {root}: {err}") from None
    size = distributed.expected_world_size()
    if size != manifest["parts"]:
        raise UserError(
            f"--partitions {root}: holds {manifest['parts']} parts, one per process, but {size} "
            f"process{'es' if size > 1 else ''} started; run torchrun --nproc-per-node {manifest['parts']}"
        )
    owned = _check_run_out(args.out, args.overwrite, args.resume is not None) if args.out else None
    _return_freed_memory()
    group = distributed.context(device)
    try:
        rank = 0 if group is None else group.rank
        held = [_read_everywhere(root, rank)]  # popped into fit_partitioned: it frees what it built
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        checkpoint = partition_resume.start(args, root, manifest, rank, _chunk(args.batch_size))
        quiet = args.quiet or rank != 0
        start = time.perf_counter()

        def show(record: dict[str, float]) -> None:
            if not quiet:
                val = f" val AUC {record['val_auc']:.4f}" if "val_auc" in record else ""
                print(f"epoch {record['epoch']:4d} loss {record['loss']:.5f}{val}", flush=True)

        params = {
            "hidden": args.hidden or 32,
            "latent": args.latent or 16,
            "lr": args.lr or 0.01,
            "epochs": args.epochs or 200,
        }
        result = fit_partitioned(
            held.pop(),
            **params,
            seed=args.seed,
            eval_every=args.eval_every,
            chunk=_chunk(args.batch_size),
            device=group.device if group is not None else device,
            on_epoch=show,
            checkpoint=checkpoint,
        )
        seconds = time.perf_counter() - start
        from graphae.training.partitioned import gather_at_rank0

        staged = _stage_shards(Path(args.out), root, manifest, rank, result.embedding) if args.out else None

        ranks = gather_at_rank0(
            {
                "bytes_sent_per_epoch": result.bytes_sent_per_epoch,
                "peak_rss_bytes": peak_rss(),
                "held": result.held,
            }
        )
        if rank == 0:
            metrics = {
                "format": FORMAT,
                "node_id_type": manifest["node_id_type"],
                "world_size": manifest["parts"],
                "partitions": {
                    "folder": str(root),
                    "manifest": {k: v for k, v in manifest.items() if k != "files"},
                },
                "loss": "sampled",
                "params": params,
                "epochs": len(result.history),
                "seed": args.seed,
                "test_auc": result.test_auc,
                "test_ap": result.test_ap,
                "seconds_per_epoch": result.train_seconds / max(1, len(result.history)),
                "seconds": seconds,
                "ranks": ranks,
            }
            print(  # the summary, printed under --quiet too (as graphae train does)
                f"test AUC {result.test_auc:.4f}  AP {result.test_ap:.4f}  ({manifest['parts']} process{'es' if manifest['parts'] > 1 else ''})"
            )
            if staged is not None:
                _write_run(Path(args.out), metrics, result.history, owned, staged)
                partition_resume.finish(Path(args.out))
                if not quiet:
                    print(f"wrote {args.out}")
    finally:
        distributed.shutdown()
    return 0


def _chunk(batch_size: int | str | None) -> int:
    """``--batch-size``: training edges each rank scores at a time (auto: 65,536; none: all)."""
    from graphae.training.partitioned import DEFAULT_CHUNK

    if batch_size is None or batch_size == "auto":
        return DEFAULT_CHUNK
    return 2**62 if batch_size == "none" else int(batch_size)


MMAP_THRESHOLD = 128 * 1024  # glibc's mmap threshold in a partitioned run (benchmarks set it alike)


def _return_freed_memory() -> None:
    """Fix glibc's mmap threshold at 128 KiB (``MMAP_THRESHOLD``), so that the buffers of each chunk go back to the
    system when freed: by default the threshold grows with the largest freed buffer, later
    ones come from the heap, and the heap's fragments raise the peak RSS of a long run by a
    third (100k nodes / 1M edges: 0.81 -> 0.63 GB). Nothing where glibc is not the C library."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _read_everywhere(root: Path, rank: int) -> Any:
    """This rank's part; if any rank cannot read its own, every rank stops with that rank's error."""
    from graphae.partition import read_part
    from graphae.training.partitioned import all_gather

    try:
        part, error = read_part(root, rank), None
    except GraphaeError as err:
        part, error = None, str(err)
    errors = all_gather(error)
    for other, message in enumerate(errors):
        if message is not None:
            raise UserError(f"--partitions {root}: part {other}: {message}")
    return part


def _check_options(args: argparse.Namespace, fresh: argparse.ArgumentParser) -> None:
    """Refuse, in one line, every option (or ``--config`` key) a partitioned run would not use."""
    if args.model != "gae":
        raise UserError(f"--partitions trains the GAE (--model gae); got --model {args.model}")
    if args.loss not in (None, "auto", "sampled"):
        raise UserError(
            f"--partitions trains with the sampled loss (no rank holds the whole graph); got --loss {args.loss}"
        )
    given = _given_options(args, fresh)
    if given:
        reasons = [f"{option}: {_WHY.get(dest, _OTHER)}" for dest, option in given]
        raise UserError(f"--partitions does not take {'; '.join(reasons)}")


_OTHER = "the partitioned GAE takes only --hidden, --latent, --lr, --epochs, --eval-every and --batch-size"


def _given_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """``(dest, name)`` of the options given that a partitioned run does not use, by the command
    line or the ``--config`` file (whose values are the parser's defaults: compared here with a
    ``parser``'s); the name is the option, or the file's section and key."""
    from graphae.cli import config

    keys = {
        action.dest: (section, key)
        for section, found in config.layout(parser).items()
        for key, action in found.items()
    }
    words = {word.split("=")[0] for word in getattr(args, "argv", None) or [] if word.startswith("--")}
    given: list[tuple[str, str]] = []
    for action in parser._actions:
        if action.dest in _USED or not action.option_strings or action.dest in dict(given):
            continue
        on_line = any(option in words for option in action.option_strings)
        if action.default is argparse.SUPPRESS:
            present = hasattr(args, action.dest)
        else:
            present = on_line or getattr(args, action.dest, action.default) != action.default
        if not present:
            continue
        name = next(s for s in action.option_strings if s.startswith("--"))
        if not on_line and args.config and action.dest in keys:
            section, key = keys[action.dest]
            name = f"{name} (set by {args.config} [{section}] {key})"
        given.append((action.dest, name))
    return given


def _check_run_out(out: str, overwrite: bool, resuming: bool) -> Any:
    from graphae.runfolder import CHECKPOINT_DIR
    from graphae.runfolder.partitioned import ENTRIES, read_run

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return lambda name: name == CHECKPOINT_DIR  # the run's own checkpoints, once finished
    unfinished = partition_resume.check_unfinished(out, overwrite, resuming)
    if read_run(path) is None and not unfinished:
        raise UserError(
            f"--out {out}: folder is not empty and holds no partitioned graphae run; graphae never replaces "
            "what it did not write: choose a new or empty folder"
        )
    if not overwrite:
        raise UserError(f"--out {out}: holds a partitioned graphae run; pass --overwrite to replace it")
    return lambda name: name in ENTRIES or name == CHECKPOINT_DIR


def _stage_shards(out: Path, root: Path, manifest: dict[str, Any], rank: int, z: Any) -> tuple[Path, dict]:
    """Every rank writes its embedding shard (its rows of ``z``, its nodes' ids) into one folder
    beside ``out`` that rank 0 makes (so ``out`` must be on a file system the ranks share);
    returns that folder and every shard's size and SHA-256. No rank holds the whole embedding."""
    from graphae.io import sha256, write_npy
    from graphae.partition.files import NODE_IDS, part_dir
    from graphae.runfolder.partitioned import EMBEDDING_DIR, shard_names
    from graphae.training.partitioned import all_gather

    staging, error = None, None
    if rank == 0:
        try:
            target = Path(os.path.realpath(out))
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.shards-")
            (Path(staging) / EMBEDDING_DIR).mkdir()
        except OSError as err:
            error = f"--out {out}: cannot write beside it ({err.strerror or err})"
    staging, error = all_gather((staging, error))[0]
    if error is not None:
        raise UserError(error)
    folder, records = Path(staging), {}
    try:
        rows, ids = shard_names(rank)
        write_npy(folder / rows, z)
        shutil.copyfile(root / part_dir(rank) / NODE_IDS, folder / ids)
        records = {
            name: {"sha256": sha256(folder / name), "bytes": (folder / name).stat().st_size}
            for name in (rows, ids)
        }
        if records[ids]["sha256"] != manifest["files"][f"{part_dir(rank)}/{NODE_IDS}"]["sha256"]:
            error = (
                f"--partitions {root}: {part_dir(rank)}/{NODE_IDS} changed during the run; partition again"
            )
    except OSError as err:
        error = (
            f"--out {out}: rank {rank} cannot write its embedding shard ({err.strerror or err}); --out must be "
            "on a file system every rank shares"
        )
    shares = all_gather((records, error))
    errors = [message for _, message in shares if message is not None]
    if errors:
        if rank == 0:
            shutil.rmtree(folder, ignore_errors=True)
        raise UserError(errors[0])
    return folder, {name: entry for share, _ in shares for name, entry in share.items()}


def _write_run(
    out: Path, metrics: dict[str, Any], history: list[dict[str, float]], owned: Any, staged: tuple[Path, dict]
) -> None:
    """Rank 0: the run folder, the ranks' shards moved in (each checked against what its rank wrote)."""
    from graphae.io import replace_folder, sha256, write_json
    from graphae.runfolder.metadata import stamp
    from graphae.runfolder.names import HISTORY, METRICS
    from graphae.runfolder.partitioned import EMBEDDING_DIR

    shards, files = staged
    metrics["embeddings"] = {
        "parts": metrics["world_size"],
        "rows": metrics["partitions"]["manifest"]["cut"]["part_nodes"],
        "dim": metrics["params"]["latent"],
        "node_id_type": metrics["node_id_type"],
    }
    metrics["files"] = files

    def write(folder: Path) -> None:
        (folder / EMBEDDING_DIR).mkdir()
        for name, entry in files.items():
            if not (shards / name).is_file() or sha256(shards / name) != entry["sha256"]:
                raise UserError(
                    f"--out {out}: {name} is not what its rank wrote, or is missing, as rank 0 sees it; "
                    "--out must be on a file system every rank shares"
                )
            shutil.move(shards / name, folder / name)
        write_json(folder / HISTORY, history)
        write_json(folder / METRICS, stamp(metrics))

    try:
        replace_folder(out, write, owned)
    finally:
        shutil.rmtree(shards, ignore_errors=True)
