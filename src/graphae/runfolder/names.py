"""The name of every file graphae writes into a model or run folder (see :mod:`graphae.runfolder`)."""

METADATA = "metadata.json"
WEIGHTS = "model.pt"
EMBEDDINGS = "embeddings.npy"
NODE_IDS = "node_ids.txt"
ADJACENCY = "adjacency.npz"
FITTED_ADJACENCY = "fitted_adjacency.npz"  # non-learned models: instead of WEIGHTS and EMBEDDINGS
HISTORY = "history.json"
# The top-k index over the embeddings (faiss), of a model that has one (see graphae.topk).
INDEX = "index.faiss"
# The node features of a model that uses them (what embedding unseen nodes needs): dense or sparse.
FEATURES_DENSE = "features.npy"
FEATURES_SPARSE = "features.npz"
FEATURES = (FEATURES_DENSE, FEATURES_SPARSE)
METRICS = "metrics.json"
TEST_SCORES = "test_scores.npz"
SPLIT = "split.npz"
LABELS = "labels.npy"
CONFIG = "config.toml"  # the options of `graphae train` that made the run (graphae train --config)
REPORT = "report.html"
FIGURE_HISTORY = "training.png"
FIGURE_ROC_PR = "roc_pr.png"
FIGURE_EMBEDDING = "embedding.png"
FIGURES = (FIGURE_HISTORY, FIGURE_ROC_PR, FIGURE_EMBEDDING)
CHECKPOINT_DIR = "checkpoint"
RUN_STATE = "runs.json"  # in CHECKPOINT_DIR: the options and finished runs of an unfinished run

# Written by graphae 0.1 (before metadata.json): still read, never written.
LEGACY_ESTIMATOR = "estimator.json"
LEGACY_CONFIG = "model.json"

MODEL_FILES = (METADATA, WEIGHTS, EMBEDDINGS, NODE_IDS, ADJACENCY, HISTORY)
RUN_FILES = (*MODEL_FILES, METRICS, TEST_SCORES, SPLIT, LABELS, CONFIG)
REPORT_FILES = (REPORT, *FIGURES)
# Every name graphae may have written into a folder: what --overwrite replaces.
ALL_FILES = (*RUN_FILES, FITTED_ADJACENCY, *FEATURES, INDEX, *REPORT_FILES, LEGACY_ESTIMATOR, LEGACY_CONFIG)

# Run files whose checksums metadata.json records beside the model's (see seal).
RUN_CHECKED_FILES = (METRICS, TEST_SCORES, SPLIT, LABELS, CONFIG)
