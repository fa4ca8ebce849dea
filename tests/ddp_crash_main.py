"""``graphae`` under torchrun (replicated DDP), rank 1 dying (``os._exit``) at its sixth checkpoint.

Usage: ``torchrun ... ddp_crash_main.py train ... --checkpoint-every 2`` (run by
tests/test_distributed.py). With 7 epochs a run, the sixth checkpoint is run 2's epoch 6: rank 0
waits in vain for rank 1's random state until torchrun stops it, and run 2's epoch-4
checkpoint is the last one written.
"""

import os
import sys

from graphae.cli import finish, main
from graphae.training import loop

real = loop._save
calls = 0


def save(checkpoint, snapshot, group):
    global calls
    calls += 1
    if calls == 6 and os.environ.get("RANK") == "1":
        os._exit(9)
    real(checkpoint, snapshot, group)


loop._save = save
finish(main(sys.argv[1:]))
