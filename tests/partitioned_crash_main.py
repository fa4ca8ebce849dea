"""``graphae`` under torchrun, rank 1 dying (``os._exit``) as the epoch-6 checkpoint begins.

Usage: ``torchrun ... partitioned_crash_main.py train --partitions DIR ...`` (run by
tests/test_partitioned_resume.py). Rank 0 writes its epoch-6 shard and waits for rank 1's
in vain until torchrun stops it: the crash a resumed run must recover from.
"""

import os
import sys

from graphae.cli import finish, main
from graphae.training import partitioned_checkpoint as pc

real = pc.PartitionedCheckpointer.save


def save(self, epoch, *args):
    if epoch == 6 and self.rank == 1:
        os._exit(9)
    real(self, epoch, *args)


pc.PartitionedCheckpointer.save = save
finish(main(sys.argv[1:]))
