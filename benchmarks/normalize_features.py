"""Validation AUC of the sampled loss with raw and row-normalized features (Citeseer).

Why graphae's linear GAE trails PyTorch Geometric's on Citeseer in the speed table: PyG's
example divides each feature row by its sum (``NormalizeFeatures``), graphae's default does
not. Validation pairs only (the test split is not scored for this comparison's choice).

    GRAPHAE_DATA=../shared/data python benchmarks/normalize_features.py [--seeds 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from graphae.data import load_dataset
from graphae.experiment import make_estimator, run_link_prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--dataset", default="citeseer")
    args = parser.parse_args()
    graph = load_dataset(args.dataset, features=True)
    for model in ("linear_gae", "gae"):
        for normalize in (False, True):
            val = []
            for seed in range(args.seeds):
                # eval_every=200: validation scored once, after the last epoch.
                est = make_estimator(model, loss="sampled", normalize_features=normalize, eval_every=200)
                result = run_link_prediction(graph, est, seed=seed, ranking_negatives=0)
                val.append(result.history[-1]["val_auc"])
            scores = 100 * np.asarray(val)
            print(
                f"{args.dataset} {model} normalize_features={normalize}: validation AUC "
                f"{scores.mean():.1f} ± {scores.std():.1f} ({', '.join(f'{s:.1f}' for s in scores)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
