"""Benchmark scripts import their sibling ``benchmark_record`` as a script would (benchmarks/ on
sys.path); the tests load them by file path, so put the folder on the path here."""
import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[2] / 'benchmarks')
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
