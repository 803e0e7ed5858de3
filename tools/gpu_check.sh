#!/usr/bin/env bash
# One-call GPU check (issue 17): run on a machine with an NVIDIA GPU, from the repo root:
#   bash tools/gpu_check.sh            # results under ${OUT:-gpu_check_out}/
# 1. the op table's CUDA axis (every row and sample on 'cuda' against the CPU),
# 2. the zoo smoke tests and the CUDA-marked tensor tests with CuPy present,
# 3. training steps of zoo models on CUDA, chainrule against torch CUDA in the same
#    process (tools/gpu_bench.py; goal >= 0.6x torch's speed),
# 4. mixed precision: tests/test_amp.py, whose CUDA tests (autocast("cuda"), GradScaler("cuda"),
#    float16 MLP vs float32) skip without a GPU.
# Budget: about 8 minutes on an H100; each part has its own timeout.
set -u
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{
  date -u; nvidia-smi || true
  python -c "import cupy, sys; print('cupy', cupy.__version__, cupy.cuda.runtime.getDeviceCount(), 'device(s)')" \
    || pip install -q cupy-cuda12x || echo "NO CUPY: the CUDA parts will skip"
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || true
  python -c "import chainrule.backend as B; print('chainrule sees cuda:', B.cuda_available())"
} 2>&1 | tee "$OUT/env.txt"

timeout 240 python -m pytest -q -p no:cacheprovider tests/ops/test_op_table.py -k cuda \
  -o addopts="" --junitxml="$OUT/op_table_cuda.xml" 2>&1 | tail -40 | tee "$OUT/op_table_cuda.txt"

timeout 120 python -m pytest -q -p no:cacheprovider tests/models/test_cnn_zoo.py \
  tests/test_tensor_api.py -x 2>&1 | tail -20 | tee "$OUT/zoo_smoke.txt"

timeout 120 python -m pytest -q -p no:cacheprovider tests/test_amp.py -o addopts="" \
  2>&1 | tail -20 | tee "$OUT/amp.txt"   # autocast/GradScaler on CUDA (docs/amp.md)
timeout 120 python benchmarks/bench_amp.py --device cuda 2>&1 | tee "$OUT/amp_bench_cuda.txt"

timeout 180 python tools/gpu_bench.py --json "$OUT/gpu_bench.json" 2>&1 | tee "$OUT/gpu_bench.txt"
echo "results in $OUT/"
