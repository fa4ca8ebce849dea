"""One rank of the partitioned-training test (run by torchrun from tests/test_partitioned.py).

Usage: ``partitioned_worker.py PARTITIONS OUT``. Loads this rank's part, takes one loss and
gradient of the partitioned GCN twice (with the part's features, then featureless: sharded
embeddings), and saves what the test compares with the unpartitioned model to
``OUT/rank-R.npz``.
"""

import sys
from dataclasses import replace

import numpy as np
import torch
import torch.distributed as dist

from graphae.cli import finish
from graphae.partition import read_part
from graphae.training.halo import Traffic, all_reduce_gradients
from graphae.training.partitioned import PartitionedGCN, PartTensors, held_shapes, partitioned_step

dist.init_process_group("gloo")
rank = dist.get_rank()
root, out = sys.argv[1], sys.argv[2]
part = read_part(root, rank)
saved = {"nodes": part.nodes}
for name, data_part in (("features", part), ("identity", replace(part, features=None))):
    traffic = Traffic()
    data = PartTensors(data_part, torch.device("cpu"), traffic)
    model = PartitionedGCN(data, hidden=8, latent=4, seed=3)
    record = {}
    # Chunks of 37 edges: each rank scores several, the ranks different numbers of them.
    loss = partitioned_step(model, np.random.default_rng(rank + 10), chunk=37, record=record)
    all_reduce_gradients(model.shared_parameters(), traffic)
    i, j = data.pos.long()
    columns = np.concatenate([part.nodes, part.halo[0]])
    saved |= {
        f"{name}_loss": loss.detach().numpy(),
        f"{name}_z": record["z"].numpy(),
        f"{name}_pos": np.stack([part.nodes[i.numpy()], columns[j.numpy()]]),
        f"{name}_neg_owner": record["neg_owner"],
        f"{name}_neg_row": record["neg_row"],
        f"{name}_w0": model.weight0.detach().numpy(),
        f"{name}_w1": model.weight1.detach().numpy(),
        f"{name}_grad0": model.weight0.grad.numpy(),
        f"{name}_grad1": model.weight1.grad.numpy(),
        f"{name}_adj": np.array(held_shapes(data, model)["adj"]),
        f"{name}_bytes": np.array(traffic.total),
    }
np.savez(f"{out}/rank-{rank}.npz", **saved)
dist.destroy_process_group()
finish(
    0
)  # as the graphae process ends: pyarrow (loaded by pandas) and torch abort now and then at a normal exit
