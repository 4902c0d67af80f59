#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md in one call, all JSON records into one folder.
#
#   bash benchmarks/run_gpu.sh [OUT_DIR] [--quick]
#
# On a CUDA machine (at most 7.5 minutes: each part has its own time limit, 450 s in all):
#   1. bench_attention.py: SGA's paper form against the chunked path up to 16,384 tokens, time
#      and peak memory, and the fused-attention (SDPA) kernel the chunked path ran on;
#   2. bench_train_step.py at the paper's scale (256 px, full width, batch 16): the authors' step,
#      the project's in fp32, fp16 AMP, bf16 AMP and channels_last;
#   3. bench_dist_smoke.py: two processes over NCCL through tools/dist_train.sh on the demo
#      config (needs two GPUs; skipped, saying so, with one);
#   4. bench_data.py: the data pipeline per worker (CPU), paper and augmented pipelines.
# Without CUDA (or with --quick) it runs the CPU parts at smoke-test sizes and prints a
# "SKIPPED (no CUDA): ..." line for each CUDA part. The exit status is 1 if any part failed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT=work_dirs/gpu_benchmarks
QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -*) echo "unknown option $arg" >&2; exit 2 ;;
        *) OUT="$arg" ;;
    esac
done
mkdir -p "$OUT"
# The interpreter colorizer is installed in, as the launch scripts find it (tools/python_env.sh).
# shellcheck source=../tools/python_env.sh
source "$ROOT/tools/python_env.sh"
find_python
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
CUDA_GPUS=$("$PY" -c \
    "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)")
FAILED=0

part() {  # part NAME LIMIT_S COMMAND...: run one part with a time limit, report its status
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s): $*"
    local start=$SECONDS
    timeout "$limit" "$@"
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    if [ $rc -ne 0 ]; then FAILED=1; fi
}

skip() {
    echo "SKIPPED (no CUDA): $*" | tee -a "$OUT/skipped.txt"
}

rm -f "$OUT/skipped.txt"
if [ "$CUDA_GPUS" -gt 0 ] && [ $QUICK -eq 0 ]; then
    echo "CUDA devices: $CUDA_GPUS"
    part attention 120 "$PY" "$ROOT/benchmarks/bench_attention.py" --device cuda \
        --sizes 256 1024 4096 16384 --repeats 10 --out "$OUT/bench_attention_cuda.json"
    part train_step 150 "$PY" "$ROOT/benchmarks/bench_train_step.py" --device cuda \
        --size 256 --width 16 --batch 16 --repeats 10 --amp --amp-bf16 --channels-last \
        --out "$OUT/bench_train_step_cuda.json"
    if [ "$CUDA_GPUS" -ge 2 ]; then
        part dist_nccl 90 "$PY" "$ROOT/benchmarks/bench_dist_smoke.py" --iters 50 \
            --out "$OUT/bench_dist_smoke_nccl.json"
    else
        echo "SKIPPED (one GPU): two-process NCCL run needs two CUDA devices" \
            | tee -a "$OUT/skipped.txt"
    fi
    part data 45 "$PY" "$ROOT/benchmarks/bench_data.py" --runs 3 --compare \
        --out "$OUT/bench_data.json"
    part data_augmented 45 "$PY" "$ROOT/benchmarks/bench_data.py" --runs 3 \
        --pipeline _augmented_train_pipeline --out "$OUT/bench_data_augmented.json"
else
    if [ "$CUDA_GPUS" -eq 0 ]; then
        skip "bench_attention.py --device cuda (paper vs chunked, SDPA backend)"
        skip "bench_train_step.py --device cuda at paper scale" \
            "(fp32, fp16 / bf16 AMP, channels_last)"
        skip "bench_dist_smoke.py two-process NCCL run of tools/dist_train.sh"
    else
        echo "--quick: CUDA parts left out" | tee -a "$OUT/skipped.txt"
    fi
    part attention_cpu_quick 900 "$PY" "$ROOT/benchmarks/bench_attention.py" --device cpu \
        --quick --out "$OUT/bench_attention_cpu_quick.json"
    part train_step_cpu_quick 900 "$PY" "$ROOT/benchmarks/bench_train_step.py" --device cpu \
        --quick --out "$OUT/bench_train_step_cpu_quick.json"
    part data_quick 900 "$PY" "$ROOT/benchmarks/bench_data.py" --quick --compare \
        --out "$OUT/bench_data_quick.json"
fi
echo "records in $OUT:"
ls "$OUT"
exit $FAILED
