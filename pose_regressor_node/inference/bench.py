"""Inference latency per backend and batch size, each backend in a fresh process.

A fresh process per backend makes peak memory (VmHWM) comparable and keeps one backend's thread
pools from slowing the next. Eager torch is measured in the same run as the baseline, so the
ratios hold on a noisy shared machine even when absolute times drift.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..errors import EngineError
from .engine import load_engine
from .preprocess import Preprocess

__all__ = ["BenchRow", "benchmark", "format_table", "measure_preprocess"]


@dataclass
class BenchRow:
    backend: str
    device: str
    batch: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput_fps: float
    peak_rss_mb: float
    iterations: int
    speedup_vs_torch: Optional[float] = None
    error: Optional[str] = None


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(model: str, backend: str, device: str, batches: Sequence[int], iterations: int,
             warmup: int) -> List[Dict]:
    rows = []
    try:
        engine = load_engine(model, backend=backend, device=device)
    except EngineError as err:
        return [asdict(BenchRow(backend, device, b, 0, 0, 0, 0, 0, 0, error=str(err))) for b in batches]
    crop = engine.metadata.preprocess.crop
    rng = np.random.default_rng(0)
    for batch in batches:
        x = rng.standard_normal((batch, 3, crop, crop)).astype(np.float32)
        for _ in range(warmup):
            engine.infer(x)
        times = []
        for _ in range(iterations):
            start = time.perf_counter()
            engine.infer(x)
            times.append(time.perf_counter() - start)
        ms = np.array(times) * 1e3
        label = f"auto->{engine.backend}" if backend == "auto" else engine.backend
        rows.append(asdict(BenchRow(label, engine.device, batch, float(np.percentile(ms, 50)),
                                    float(np.percentile(ms, 95)), float(np.percentile(ms, 99)),
                                    float(batch / np.mean(times)), _peak_rss_mb(), iterations)))
    return rows


def benchmark(model: str, backends: Sequence[str], batches: Sequence[int] = (1,), iterations: int = 50,
              warmup: int = 5, device: str = "auto") -> List[BenchRow]:
    ctx = mp.get_context("spawn")
    rows: List[BenchRow] = []
    for backend in backends:
        with ctx.Pool(1) as pool:
            rows += [BenchRow(**r) for r in pool.apply(_measure, (model, backend, device, batches, iterations, warmup))]
    base = {r.batch: r.p50_ms for r in rows if r.backend == "torch" and r.error is None}
    for r in rows:
        if r.error is None and r.batch in base and r.p50_ms > 0:
            r.speedup_vs_torch = base[r.batch] / r.p50_ms
    return rows


def measure_preprocess(spec, frames: int = 100, shape=(480, 640, 3)) -> float:
    """Median milliseconds to turn one camera frame into the network input."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, shape, dtype=np.uint8)
    pre = Preprocess(spec)
    pre(frame)
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        pre(frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def format_table(rows: Sequence[BenchRow]) -> str:
    head = f"{'backend':<12} {'device':<22} {'batch':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
           f"{'frames/s':>9} {'peak MB':>8} {'vs torch':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.error:
            lines.append(f"{r.backend:<12} unavailable: {r.error}")
            continue
        ratio = f"{r.speedup_vs_torch:.2f}x" if r.speedup_vs_torch else "-"
        lines.append(f"{r.backend:<12} {r.device[:22]:<22} {r.batch:>5} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
                     f"{r.p99_ms:>8.2f} {r.throughput_fps:>9.1f} {r.peak_rss_mb:>8.0f} {ratio:>8}")
    return "\n".join(lines)


