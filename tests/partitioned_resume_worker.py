"""One rank of the partitioned resume test (run by torchrun from tests/test_partitioned_resume.py).

Usage: ``partitioned_resume_worker.py PARTITIONS OUT``. For the part's features and then for
none (sharded embedding rows), this rank trains 7 epochs uninterrupted; then again with a
checkpoint every 2 epochs, "killed" in the middle of the epoch-6 checkpoint (rank 0 has
written its shard, rank 1 not yet); then resumes. It saves both embeddings and histories,
the files of the checkpoint folder before resuming and the errors of resuming from a
checkpoint that does not fit, to ``OUT/rank-R.npz`` and ``OUT/rank-R.json``.
"""

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch.distributed as dist

from graphae.cli import finish
from graphae.errors import GraphaeError
from graphae.partition import read_manifest, read_part
from graphae.training import partitioned_checkpoint as pc
from graphae.training.partitioned import fit_partitioned


class Killed(BaseException):
    """Stands for the processes dying (nothing catches it)."""


class Crashing(pc.PartitionedCheckpointer):
    """Dies in the middle of the epoch-6 checkpoint: rank 0 after writing its shard, rank 1 before."""

    def save(self, epoch, model, optimizer, generator, result, sent):
        if epoch == 6:
            shard = self.folder / pc.shard_name(epoch, self.rank)
            shard.parent.mkdir(parents=True, exist_ok=True)
            if self.rank == 0:
                pc._write_hashed(shard, {"half": "written"})
            else:  # what a kill in the middle of atomic_write leaves
                (shard.parent / f".{shard.name}.abc123.tmp").write_bytes(b"PK\x03\x04 half a zip")
            raise Killed
        super().save(epoch, model, optimizer, generator, result, sent)


dist.init_process_group("gloo")
rank = dist.get_rank()
root, out = Path(sys.argv[1]), Path(sys.argv[2])
manifest = read_manifest(root)
options = {"hidden": 8, "latent": 4, "lr": 0.02, "epochs": 7, "seed": 3, "eval_every": 2, "chunk": 37}
fit = {k: v for k, v in options.items() if k != "chunk"}
meta = {"world_size": 2, "manifest": manifest["checksum"], "partitions": str(root), "options": options}
saved, report = {}, {}
for name, part in (
    ("features", read_part(root, rank)),
    ("identity", replace(read_part(root, rank), features=None)),
):
    folder = out / f"checkpoint-{name}"
    whole = fit_partitioned(part, **fit, chunk=37)
    try:
        fit_partitioned(part, **fit, chunk=37, checkpoint=Crashing(folder, 2, meta, rank))
    except Killed:
        pass
    dist.barrier()  # every rank has "died" before any looks at the folder
    report[f"{name}_before"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    resumed = fit_partitioned(
        part, **fit, chunk=37, checkpoint=pc.PartitionedCheckpointer(folder, 2, meta, rank)
    )
    report[f"{name}_after"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    saved |= {f"{name}_whole": whole.embedding, f"{name}_resumed": resumed.embedding}
    report[f"{name}_history"] = [whole.history, resumed.history]
    report[f"{name}_bytes"] = [whole.bytes_sent_per_epoch, resumed.bytes_sent_per_epoch]
# Resuming from a checkpoint that does not fit: every rank stops with the same error, none hangs.
folder = out / "checkpoint-identity"
part = replace(read_part(root, rank), features=None)
for case, other in (
    ("manifest", {**meta, "manifest": "0" * 64}),
    ("options", {**meta, "options": {**options, "lr": 0.5}}),
):
    try:
        fit_partitioned(part, **fit, chunk=37, checkpoint=pc.PartitionedCheckpointer(folder, 2, other, rank))
        report[case] = None
    except GraphaeError as err:
        report[case] = str(err)
# A checkpoint folder only some ranks see (not on a shared file system): refused on every rank.
elsewhere = out / f"elsewhere-{rank}"
for case, where in (("unshared_resume", folder), ("unshared_save", elsewhere)):
    mine = where if rank == 0 else out / "elsewhere-1"
    try:
        fit_partitioned(part, **fit, chunk=37, checkpoint=pc.PartitionedCheckpointer(mine, 2, meta, rank))
        report[case] = None
    except GraphaeError as err:
        report[case] = str(err)
dist.barrier()
if rank == 1:
    (folder / pc.shard_name(6, 1)).unlink()  # rank 1's shard is lost: rank 0 must not hang
dist.barrier()
try:
    fit_partitioned(part, **fit, chunk=37, checkpoint=pc.PartitionedCheckpointer(folder, 2, meta, rank))
    report["missing"] = None
except GraphaeError as err:
    report["missing"] = f"{type(err).__name__}: {err}"
np.savez(out / f"rank-{rank}.npz", **saved)
(out / f"rank-{rank}.json").write_text(json.dumps(report))
dist.destroy_process_group()
finish(
    0
)  # as the graphae process ends: pyarrow (loaded by pandas) and torch abort now and then at a normal exit
