# Sourced by dist_*.sh and slurm_*.sh: find the Python the user installed colorizer into, and
# (torchrun launches) give every process its share of the free CPU cores.
#
# Interpreter, first found: $PYTHON; the active virtual environment ($VIRTUAL_ENV); the
# repository's .venv (what the README's quick start creates, without activating it); python3.
# ROOT must be set to the repository root by the sourcing script.
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}" \
                     "$ROOT/.venv/bin/python" python3 python; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
            PY=$candidate
            break
        fi
    done
    if [ -z "${PY:-}" ]; then
        echo "error: no Python found; set PYTHON=/path/to/python" >&2
        exit 2
    fi
    # find_spec, not import: the check must not cost a torch import at every launch
    if ! "$PY" -c 'import importlib.util as u, sys
sys.exit(not (u.find_spec("torch") and u.find_spec("mmengine")))' >/dev/null 2>&1; then
        echo "error: $PY cannot import torch and mmengine. Install colorizer into it" \
             "(python3 -m venv .venv && .venv/bin/pip install -e .) or set PYTHON to the" \
             "interpreter you installed it into." >&2
        exit 2
    fi
}

# OMP_NUM_THREADS per process for NPROC processes on this node (colorizer/thread_policy.py:
# free cores / NPROC, COLORIZER_THREADS=N|auto|torch). Without it torchrun sets 1 thread per
# process whatever the machine. An OMP_NUM_THREADS given by the user is kept.
share_threads() {
    local nproc=$1 threads
    if [ -z "${OMP_NUM_THREADS:-}" ]; then
        threads=$(PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
                  "$PY" -m colorizer.thread_policy --processes "$nproc") || exit 2
        if [ -n "$threads" ]; then
            export OMP_NUM_THREADS=$threads
        fi
    fi
}
