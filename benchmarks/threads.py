"""Query-embedding latency and batch throughput per llama.cpp thread policy, on an idle and on a busy machine.

On 2 cores, one other CPU-bound process leaves one of llama.cpp's threads waiting for a core at every
synchronisation point, while the other spins. Policies, measured interleaved (paired) under 0..N busy processes:
  1, 2          every call on that many threads (llama.cpp's own per-decode pool)
  short1        one thread when a call fits one decode, every thread for batches (slm before issue 20's end)
  adaptive      slm's Embedder as it is: short1, but batches only on threads that have an idle core
  pool0         a persistent ggml thread pool of every thread with poll = 0 (no busy-wait between decodes),
                attached by ctypes (llama-cpp-python 0.3.36 does not bind ggml_threadpool_*), every call on it
  pool0+short1  the same pool, short calls on one of its threads

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python benchmarks/threads.py --out benchmarks/results/threads-pool.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from benchmarks import corpus  # noqa: E402
from slm.embedding import embedder as embedder_module  # noqa: E402

IDLE_CORES = getattr(embedder_module, "_idle_cores", None)  # absent before the adaptive policy

HOG = "while True: pass"
POLICIES = ("1", "2", "short1", "adaptive", "pool0", "pool0+short1")


class _PoolParams(ctypes.Structure):
    """ggml.h's struct ggml_threadpool_params (GGML_MAX_N_THREADS = 512)."""

    _fields_ = [
        ("cpumask", ctypes.c_bool * 512),
        ("n_threads", ctypes.c_int),
        ("prio", ctypes.c_int),
        ("poll", ctypes.c_uint32),
        ("strict_cpu", ctypes.c_bool),
        ("paused", ctypes.c_bool),
    ]


def attach_pool(embedder, threads: int, poll: int) -> ctypes.c_void_p:
    """A persistent ggml CPU thread pool with `poll`, attached to the embedder's context for every decode."""
    import llama_cpp

    lib = Path(llama_cpp.__file__).parent / "lib"
    base, cpu = ctypes.CDLL(str(lib / "libggml-base.so")), ctypes.CDLL(str(lib / "libggml-cpu.so"))
    llama = ctypes.CDLL(str(lib / "libllama.so"))
    base.ggml_threadpool_params_default.restype = _PoolParams
    base.ggml_threadpool_params_default.argtypes = [ctypes.c_int]
    cpu.ggml_threadpool_new.restype = ctypes.c_void_p
    cpu.ggml_threadpool_new.argtypes = [ctypes.POINTER(_PoolParams)]
    llama.llama_attach_threadpool.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    params = base.ggml_threadpool_params_default(threads)
    params.poll = poll
    pool = cpu.ggml_threadpool_new(ctypes.byref(params))
    if not pool:
        raise RuntimeError("ggml_threadpool_new failed")
    llama.llama_attach_threadpool(embedder._llm._ctx.ctx, pool, pool)
    return pool


def load(policy: str):
    """slm's own Embedder (same model and settings) run the way `policy` names."""
    from slm import config
    from slm.embedding.conversion import ensure_default_model

    cores = os.cpu_count() or 1
    embedder = embedder_module.Embedder(ensure_default_model(config.data_dir()), threads=cores)
    if policy.startswith("pool0"):
        attach_pool(embedder, cores, poll=0)
    if policy in ("1", "2", "pool0"):
        fixed = cores if policy == "pool0" else int(policy)
        embedder._use_threads = lambda _threads, e=embedder, n=fixed: e._llm._ctx.set_n_threads(n, n)
    return embedder


def measure(policy: str, embedder, questions: list[str], texts: list[str]) -> dict:
    """Single-query embed times (ms) and memories/s for 64-text batches (as `remember_many` sends them)."""
    if IDLE_CORES:  # only the adaptive policy looks for idle cores
        embedder_module._idle_cores = IDLE_CORES if policy == "adaptive" else lambda: os.cpu_count() or 1
    single = []
    for question in questions:
        start = time.perf_counter()
        embedder.embed_one(question)
        single.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    for at in range(0, len(texts), 64):
        embedder.embed(texts[at : at + 64])
    return {"single_ms": single, "batch_per_s": len(texts) / (time.perf_counter() - start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--texts", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="policies alternated this many times per load")
    parser.add_argument("--max-hogs", type=int, default=2, help="measure with 0..N competing busy processes")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the competitors it started
    os.environ.setdefault("SLM_HOME", "/tmp/slm-bench-home")
    questions, texts = corpus.queries(args.queries), [m["text"] for m in corpus.memories(args.texts)]
    embedders = {policy: load(policy) for policy in args.policies.split(",")}
    for policy, embedder in embedders.items():
        measure(policy, embedder, questions[:3], texts[:64])
    results = []
    for hogs in range(args.max_hogs + 1):
        procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
        try:
            time.sleep(0.5 if procs else 0)
            runs = {policy: [] for policy in embedders}
            for _ in range(args.rounds):
                for policy, embedder in embedders.items():
                    runs[policy].append(measure(policy, embedder, questions, texts))
            load_average = round(os.getloadavg()[0], 2)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        for policy, measured in runs.items():
            single = [ms for run in measured for ms in run["single_ms"]]
            row = {
                "policy": policy,
                "busy_processes": hogs,
                "load_average": load_average,
                "query_p50_ms": round(statistics.median(single), 2),
                "query_p95_ms": round(sorted(single)[int(0.95 * len(single))], 2),
                "query_max_ms": round(max(single), 1),
                "batch_per_s": round(statistics.median(run["batch_per_s"] for run in measured), 1),
            }
            print(row, flush=True)
            results.append(row)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
