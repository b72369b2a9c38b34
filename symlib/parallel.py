"""Independent jobs on a CPU's cores: one single-threaded worker process per core.

Small networks leave a multi-threaded convolution partly idle, so on a CPU it is faster to train several of
them side by side, each on one thread, than one after another on all threads (2 cores, zoo CNN at widths
8/16/32, batch 32: 1.27x, ``benchmarks/population.py``). Every job runs on exactly one thread whatever the number of
workers, so a job's floating-point result does not depend on how many cores the machine has or on which
worker picked it up. On a GPU the populations of :mod:`symlib.population` are the faster route.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

import torch
from tqdm import tqdm


def cpu_workers() -> int:
    """Cores this process may run on (``SYMLIB_WORKERS`` overrides it, e.g. ``1`` to stay in-process)."""
    if "SYMLIB_WORKERS" in os.environ:
        n = int(os.environ["SYMLIB_WORKERS"])
        if n < 1:
            raise ValueError(f"SYMLIB_WORKERS must be >= 1, got {n}")
        return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent has died (killed kernel, ``kill -9``) exits instead of computing for nobody."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _init_worker(initializer: Callable[..., None] | None, initargs: tuple, parent: int | None = None) -> None:
    torch.set_num_threads(1)
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], *, initializer: Callable[..., None] | None = None,
             initargs: tuple = (), workers: int | None = None, desc: str = "jobs", progress: bool = True) -> list[Any]:
    """``[fn(job) for job in jobs]``, computed by ``workers`` single-threaded processes (default: one per core).

    ``fn`` and ``initializer`` must be importable module-level functions (workers are spawned, not forked, so
    torch's thread pools are never copied into a child). ``initializer(*initargs)`` runs once per worker, e.g. to
    load a dataset into a module global. Results come back in job order; a failing job raises here. With one
    worker everything runs in this process, still on one thread.
    """
    workers = min(cpu_workers() if workers is None else workers, max(1, len(jobs)))
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress)
    if workers == 1:
        threads = torch.get_num_threads()
        try:
            _init_worker(initializer, initargs)
            out = []
            for job in jobs:
                out.append(fn(job))
                bar.update()
            return out
        finally:
            torch.set_num_threads(threads)
            bar.close()
    out: list[Any] = [None] * len(jobs)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                               initargs=(initializer, initargs, os.getpid()))
    try:
        futures = {pool.submit(fn, job): k for k, job in enumerate(jobs)}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            bar.update()
    except BaseException:  # a failed job or an interrupt: drop the queued jobs, stop the running ones now
        running = list((getattr(pool, "_processes", None) or {}).values())  # private, but no public handle exists
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in running:
            proc.terminate()
        raise
    finally:
        bar.close()
    pool.shutdown()
    return out
