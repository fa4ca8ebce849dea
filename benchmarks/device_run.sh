#!/bin/bash
# Run from the repository root on a GPU machine with the Planetoid files under $GRAPHAE_DATA
# (default .devdata/); writes $OUT/results.tgz (OUT: a folder of your choice).
# One device call: MaskGAE table (alone), scale on CUDA (alone), then search/ablation/powerlaw/zoo-Pubmed in parallel copies.
export PYTHONPATH=$PWD/src GRAPHAE_DATA=${GRAPHAE_DATA:-$PWD/.devdata} PYTHONUNBUFFERED=1
R=$PWD
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi -L; python3 -c "import torch, torch_geometric, sklearn; print(torch.__version__, torch.cuda.get_device_name(), torch_geometric.__version__)"
pack() { (cd $R && tar czf $OUT/results.tgz benchmarks/results BENCHMARKS.md /tmp/copy_*/benchmarks/results /tmp/copy_*/BENCHMARKS.md /tmp/*.log 2>/dev/null); }
cd $R/benchmarks
el "maskgae table"
timeout 200 python3 maskgae.py table --device cuda --pubmed-runs 3 > /tmp/mg_table.log 2>&1; el "rc $?"; tail -5 /tmp/mg_table.log; pack
el "scale"
timeout 170 python3 scale.py --device cuda --sizes 100k:1M,1M:10M --pyg --timeout 150 > /tmp/scale.log 2>&1; el "rc $?"; tail -25 /tmp/scale.log; pack
el "parallel parts"
for part in search ablation_cora ablation_citeseer powerlaw zoo; do rm -rf /tmp/copy_$part; cp -r $R /tmp/copy_$part; done
(cd /tmp/copy_search/benchmarks && timeout 200 python3 maskgae.py search --device cuda --seeds 2 --datasets cora,citeseer > /tmp/mg_search.log 2>&1) &
(cd /tmp/copy_ablation_cora/benchmarks && timeout 200 python3 maskgae.py ablation --device cuda --seeds 3 --datasets cora > /tmp/mg_abl_cora.log 2>&1) &
(cd /tmp/copy_ablation_citeseer/benchmarks && timeout 200 python3 maskgae.py ablation --device cuda --seeds 3 --datasets citeseer > /tmp/mg_abl_citeseer.log 2>&1) &
(cd /tmp/copy_powerlaw/benchmarks && timeout 200 python3 maskgae.py powerlaw --device cuda > /tmp/mg_powerlaw.log 2>&1) &
(cd /tmp/copy_zoo/benchmarks && timeout 200 python3 zoo.py --only linear --datasets pubmed --pubmed-runs 10 --device cuda > /tmp/zoo_pubmed.log 2>&1) &
wait; el "parallel done"
for f in /tmp/mg_search.log /tmp/mg_abl_cora.log /tmp/mg_abl_citeseer.log /tmp/mg_powerlaw.log /tmp/zoo_pubmed.log; do echo "== $f"; tail -4 $f; done
pack; ls -la $OUT
