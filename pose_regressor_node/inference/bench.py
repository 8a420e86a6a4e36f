"""Inference latency per backend and batch size, each backend in a process of its own.

A process per backend makes peak memory (VmHWM) comparable and keeps one backend's thread pools
from slowing another. Eager torch is measured in the same run as the baseline, and the backends
take turns (``iterations`` runs split over ``rounds`` rounds, the order rotating), so drift
in a shared machine's load hits every backend alike and the ratios hold even when absolute times
wander. Taking turns keeps every backend's process alive at once; on a 4 GB Jetson pass
``rounds=1`` (one backend at a time, started and ended in turn).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import EngineError, PoseRegressorError
from .engine import load_engine
from .preprocess import Preprocess

__all__ = ["BenchRow", "benchmark", "benchmark_models", "format_table", "measure_preprocess"]


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


class _BackendProcess:
    """One backend's engine in a spawned process, timing runs on request."""

    def __init__(self, ctx, model: str, backend: str, device: str, label: Optional[str] = None) -> None:
        self.backend, self.device = label or backend, device
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, model, backend, device), daemon=True)
        self._process.start()
        child.close()  # ours closed, a process that dies gives EOFError instead of a recv() that never returns
        reply = self._receive()
        self.error: Optional[str] = reply[1] if reply[0] == "error" else None
        if self.error is None:
            _, chosen, self.device = reply
            self.backend = label or (f"auto->{chosen}" if backend == "auto" else chosen)
        self.times: Dict[int, List[float]] = {}

    def _receive(self, request: Optional[tuple] = None):
        """The worker's answer (to ``request``, if given); an EngineError if the worker is gone."""
        try:
            if request is not None:
                self._conn.send(request)
            return self._conn.recv()
        except (EOFError, ConnectionError):  # its end closed, reset or broken: the process died
            self._process.join(timeout=30)
            raise EngineError(f"the {self.backend} benchmark process ended (exit code {self._process.exitcode}) "
                              "before answering: a traceback above says why, a negative code names the signal "
                              "that killed it (-9: out of memory?)") from None

    def time_runs(self, batch: int, runs: int, warmup: int) -> None:
        self.times.setdefault(batch, []).extend(self._receive(("time", batch, runs, warmup)))

    def close(self) -> float:
        """Ends the process; returns its peak resident memory (MB)."""
        peak = 0.0
        if self.error is None:
            peak = self._receive(("stop",))
        self._process.join(timeout=30)
        return peak

    def rows(self, batches: Sequence[int], peak_mb: float) -> List[BenchRow]:
        if self.error is not None:
            return [BenchRow(self.backend, self.device, b, 0, 0, 0, 0, 0, 0, error=self.error) for b in batches]
        rows = []
        for batch in batches:
            times = np.array(self.times[batch])
            ms = times * 1e3
            rows.append(BenchRow(self.backend, self.device, batch, float(np.percentile(ms, 50)),
                                 float(np.percentile(ms, 95)), float(np.percentile(ms, 99)),
                                 float(batch / times.mean()), peak_mb, len(times)))
        return rows


def _serve(conn, model: str, backend: str, device: str) -> None:
    try:
        engine = load_engine(model, backend=backend, device=device)
    except PoseRegressorError as err:  # a missing runtime, an unreadable model file: that backend's row says so
        conn.send(("error", str(err)))
        return
    conn.send(("ready", engine.backend, engine.device))
    crop = engine.metadata.preprocess.crop
    rng = np.random.default_rng(0)
    inputs: Dict[int, np.ndarray] = {}
    while True:
        request = conn.recv()
        if request[0] == "stop":
            conn.send(_peak_rss_mb())
            return
        _, batch, runs, warmup = request
        x = inputs.setdefault(batch, rng.standard_normal((batch, 3, crop, crop)).astype(np.float32))
        for _ in range(warmup):
            engine.infer(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            engine.infer(x)
            times.append(time.perf_counter() - start)
        conn.send(times)


def _runs_per_round(iterations: int, rounds: int) -> List[int]:
    """``iterations`` split over the rounds, the first rounds taking the remainder: exactly as many runs as asked."""
    rounds = max(1, min(rounds, iterations))
    share, extra = divmod(iterations, rounds)
    return [share + (1 if r < extra else 0) for r in range(rounds)]


def _take_turns(procs: List[_BackendProcess], batches: Sequence[int], runs_per_round: Sequence[int],
                warmup: int) -> None:
    for r, runs in enumerate(runs_per_round if procs else []):
        shift = r % len(procs)  # who goes first rotates
        for proc in procs[shift:] + procs[:shift]:
            for batch in batches:
                proc.time_runs(batch, runs, warmup if r == 0 else 1)  # 1: caches after another backend ran


def benchmark(model: str, backends: Sequence[str], batches: Sequence[int] = (1,), iterations: int = 50,
              warmup: int = 5, device: str = "auto", rounds: int = 5) -> List[BenchRow]:
    """One model file on several backends; rows are named after the backend (``auto->`` its choice)."""
    return benchmark_models([(model, backend, None) for backend in backends], batches, iterations, warmup, device,
                            rounds)


def benchmark_models(entries: Sequence[Tuple[str, str, Optional[str]]], batches: Sequence[int] = (1,),
                     iterations: int = 50, warmup: int = 5, device: str = "auto", rounds: int = 5) -> List[BenchRow]:
    """(model file, backend, row name or None) per entry, e.g. an fp32 and an INT8 file side by side.

    Speed-ups are against the row named ``torch`` of the same batch size, where there is one.
    """
    ctx = mp.get_context("spawn")
    runs_per_round = _runs_per_round(iterations, rounds)
    if len(runs_per_round) == 1:  # one backend at a time: only one process (and its memory) alive at once
        groups = [[entry] for entry in entries]
    else:
        groups = [list(entries)]
    rows: List[BenchRow] = []
    for group in groups:
        procs = [_BackendProcess(ctx, model, backend, device, label) for model, backend, label in group]
        _take_turns([p for p in procs if p.error is None], batches, runs_per_round, warmup)
        for proc in procs:
            rows += proc.rows(batches, proc.close())
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
    width = max([12] + [len(r.backend) for r in rows])
    head = f"{'backend':<{width}} {'device':<22} {'batch':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
           f"{'frames/s':>9} {'peak MB':>8} {'vs torch':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.error:
            lines.append(f"{r.backend:<{width}} unavailable: {r.error}")
            continue
        ratio = f"{r.speedup_vs_torch:.2f}x" if r.speedup_vs_torch else "-"
        lines.append(f"{r.backend:<{width}} {r.device[:22]:<22} {r.batch:>5} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} "
                     f"{r.p99_ms:>8.2f} {r.throughput_fps:>9.1f} {r.peak_rss_mb:>8.0f} {ratio:>8}")
    return "\n".join(lines)
