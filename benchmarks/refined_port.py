"""A check of graphae's refined_gae against a second, independent implementation of the reference loop.

GraphPKU/Refined-GAE's ``train_wo_feat.py`` (DGL) rewritten in plain torch from its description
and code: learned embeddings (orthogonal start), two GraphConv-style steps ``Â (h W) + b + r h_0``
(Xavier weights, zero biases), the ``Hadamard_MLPPredictor`` with residuals and dropout 0.6,
uniform non-edge negatives (one per edge), each batch of 8,192 edges hidden from its encoder,
binary cross-entropy, gradient norms clipped per group, Adam at 0.001. It imports graphae's data
reader only (OGB's official split): none of graphae's model, objective or training code.

At the same budget, validation and test Hits@20 should fall in the same range as
``graphae train --model refined_gae`` with the same width, decoder depth, epochs and evaluation
interval (BENCHMARKS.md, "ogbl-ddi"). Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/refined_port.py WIDTH DECODER_LAYERS EPOCHS SEED EVAL_EVERY
"""

import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from graphae.data import load_dataset

width, mlp_layers, epochs, seed, every = map(int, sys.argv[1:6])
torch.set_num_threads(2)
torch.manual_seed(seed)

g = load_dataset("ogbl-ddi", os.path.join(os.environ.get("GRAPHAE_DATA", "../shared/data"), "ogb"))
sp = g.official_split
N = g.num_nodes
train = torch.from_numpy(sp.train.T.copy()).long()  # [E, 2]
E = train.shape[0]


# Both directions of every training edge and the self loops, sorted once by (row, column); a step's
# graph keeps the entries of its visible edges (a filter keeps the order), so no per-step sort.
_rows = torch.cat([train[:, 1], train[:, 0], torch.arange(N)])
_cols = torch.cat([train[:, 0], train[:, 1], torch.arange(N)])
_owner = torch.cat(
    [torch.arange(E), torch.arange(E), torch.full((N,), -1)]
)  # the training edge of each entry
_order = torch.argsort(_rows * N + _cols)
_rows, _cols, _owner = _rows[_order], _cols[_order], _owner[_order]


def norm_adj(visible=None):
    """D^-1/2 (A + I) D^-1/2 of the visible training edges (a mask over them; None: all), CSR."""
    keep = (
        torch.ones_like(_owner, dtype=torch.bool)
        if visible is None
        else (_owner < 0) | visible[_owner.clamp(min=0)]
    )
    r, c = _rows[keep], _cols[keep]
    deg = torch.bincount(r, minlength=N).float()
    w = deg[r].rsqrt() * deg[c].rsqrt()
    crow = torch.zeros(N + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(deg.long(), 0)
    return torch.sparse_csr_tensor(crow, c, w, (N, N))


full = norm_adj()
key = set((train[:, 0] * N + train[:, 1]).tolist()) | set((train[:, 1] * N + train[:, 0]).tolist())


def negatives(k):
    out = []
    while sum(len(o) for o in out) < k:
        s = torch.randint(0, N, (k,))
        d = torch.randint(0, N, (k,))
        ok = s != d
        codes = (s * N + d).tolist()
        ok &= torch.tensor([c not in key for c in codes])
        out.append(torch.stack([s[ok], d[ok]], 1))
    return torch.cat(out)[:k]


class SymSpMM(torch.autograd.Function):
    """A @ h for a constant symmetric sparse A: the backward is A @ grad (torch's own would transpose A)."""

    @staticmethod
    def forward(ctx, a, h):
        ctx.a = a
        return a @ h

    @staticmethod
    def backward(ctx, grad):
        return None, ctx.a @ grad


class GCN(nn.Module):
    def __init__(self, w, residual):
        super().__init__()
        self.w1, self.w2 = nn.Parameter(torch.empty(w, w)), nn.Parameter(torch.empty(w, w))
        self.b1, self.b2 = nn.Parameter(torch.zeros(w)), nn.Parameter(torch.zeros(w))
        nn.init.xavier_uniform_(self.w1)
        nn.init.xavier_uniform_(self.w2)
        self.r = residual

    def forward(self, adj, x):
        h = SymSpMM.apply(adj, x @ self.w1) + self.b1 + self.r * x
        return SymSpMM.apply(adj, h @ self.w2) + self.b2 + self.r * x


class Pred(nn.Module):
    def __init__(self, w, dropout, layers):
        super().__init__()
        self.lins = nn.ModuleList([nn.Linear(w, w) for _ in range(layers - 1)] + [nn.Linear(w, 1)])
        self.p = dropout

    def forward(self, a, b):
        x = a * b
        ori = x
        for lin in self.lins[:-1]:
            x = lin(x) + ori
            x = F.relu(x)
            x = F.dropout(x, self.p, self.training)
        return self.lins[-1](x).squeeze(-1)


emb = nn.Embedding(N, width)
nn.init.orthogonal_(emb.weight)
model, pred = GCN(width, 0.1), Pred(width, 0.6, mlp_layers)
opt = torch.optim.Adam(list(model.parameters()) + list(pred.parameters()) + list(emb.parameters()), lr=0.001)


def hits(pos, neg, k=20):
    kth = torch.topk(neg, k)[0][-1]
    return float((pos > kth).float().mean())


@torch.no_grad()
def evaluate():
    model.eval()
    pred.eval()
    h = model(full, emb.weight)

    def score(pairs):
        p = torch.from_numpy(pairs).long()
        return torch.cat(
            [pred(h[p[0, i : i + 65536]], h[p[1, i : i + 65536]]) for i in range(0, p.shape[1], 65536)]
        )

    out = hits(score(sp.valid_pos), score(sp.valid_neg)), hits(score(sp.test_pos), score(sp.test_neg))
    model.train()
    pred.train()
    return out


best = (-1, None, None)
t0 = time.time()
for epoch in range(1, epochs + 1):
    perm = torch.randperm(E)
    mask = torch.ones(E, dtype=torch.bool)
    total = 0.0
    for idx in perm.split(8192):
        mask[idx] = False
        adj = norm_adj(mask)
        mask[idx] = True
        h = model(adj, emb.weight)
        pos = train[idx]
        neg = negatives(len(idx))
        ps, ns = pred(h[pos[:, 0]], h[pos[:, 1]]), pred(h[neg[:, 0]], h[neg[:, 1]])
        loss = F.binary_cross_entropy_with_logits(
            ps, torch.ones_like(ps)
        ) + F.binary_cross_entropy_with_logits(ns, torch.zeros_like(ns))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(emb.parameters(), 1.0)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        torch.nn.utils.clip_grad_norm_(pred.parameters(), 1.0)
        opt.step()
        total += float(loss.detach())
    if epoch % every == 0 or epoch == epochs:
        v, t = evaluate()
        if v > best[0]:
            best = (v, t, epoch)
        print(
            f"epoch {epoch} loss {total / len(perm.split(8192)):.4f} valid {100 * v:.2f} test {100 * t:.2f} ({time.time() - t0:.0f} s)",
            flush=True,
        )
print(f"kept epoch {best[2]}: valid {100 * best[0]:.2f} test {100 * best[1]:.2f}")
