"""Independent jobs on many cores or machines, through Ray (https://docs.ray.io).

:func:`map_tasks` runs ``fn(shared, job)`` for every job as Ray tasks and returns the results in job order.
``ray.init()`` starts a local Ray instance on first use (no dashboard; ``SYMLIB_WORKERS`` or the cores this
process may use set its CPUs); with ``RAY_ADDRESS`` set it joins that cluster instead and ships the ``symlib``
package to the workers. CPU tasks ask for one core and run on **one thread**, so a job's floating-point result
does not depend on the machine, the number of workers, or which worker picked it up (``tests/test_training.py``
checks it against an in-process run); GPU tasks ask for a fraction of a GPU (``num_gpus=1/8``), so several small
populations share one device. ``shared`` (data, model factory) is put in Ray's object store once and
deserialised once per worker.

A failed job or an interrupt (Ctrl-C) cancels every other job at once and re-raises. A local instance that
:func:`map_tasks` started is shut down when it returns (about 5 s to start the next time), and if the driver is
killed Ray's workers exit with it, so a killed build leaves no process computing for nobody; inside a
:func:`session` block it is kept until the block ends (several rounds of tasks, as a zoo build claims them, start Ray
once). Small workloads can run in process (``in_process=True``) with the same single-thread arithmetic.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm import tqdm

_SHARED: dict[str, Any] = {}  # per worker: the last shared object it deserialised, by object id
_SESSION = {"depth": 0, "started": False}  # open session() blocks; whether map_tasks started Ray inside one


def cpu_workers() -> int:
    """CPUs for local work: ``SYMLIB_WORKERS`` if set (``1`` keeps everything in this process), else the cores this
    process may run on."""
    if "SYMLIB_WORKERS" in os.environ:
        n = int(os.environ["SYMLIB_WORKERS"])
        if n < 1:
            raise ValueError(f"SYMLIB_WORKERS must be >= 1, got {n}")
        return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def ray_init() -> None:
    """Start or join Ray once per process: ``RAY_ADDRESS`` joins a cluster (shipping ``symlib`` to its workers);
    otherwise a local instance with :func:`cpu_workers` CPUs and no dashboard."""
    import ray

    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS")
    common = dict(include_dashboard=False, log_to_driver=False, logging_level="error")
    if address:
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]}, **common)
    else:  # local workers import whatever this process can (e.g. functions of a test module or a script's folder)
        path = os.pathsep.join(p for p in sys.path if p)
        ray.init(num_cpus=cpu_workers(), runtime_env={"env_vars": {"PYTHONPATH": path}}, **common)


def parallel_tasks(num_gpus: float = 0.0) -> int:
    """How many tasks of :func:`map_tasks` run at once: on the cluster ``RAY_ADDRESS`` names, its CPUs (or its GPUs
    divided by ``num_gpus``); here :func:`cpu_workers` CPU tasks, or one GPU task (GPU work stays in process)."""
    if not os.environ.get("RAY_ADDRESS"):
        return 1 if num_gpus else cpu_workers()
    import ray

    started = not ray.is_initialized()
    ray_init()
    resources = ray.cluster_resources()
    if started and _SESSION["depth"]:
        _SESSION["started"] = True
    elif started:
        ray.shutdown()
    if num_gpus:
        return max(1, int(resources.get("GPU", 0) / num_gpus))
    return max(1, int(resources.get("CPU", 1)))


@contextlib.contextmanager
def session():
    """Keep a Ray instance that :func:`map_tasks` starts inside this block until the block ends (then shut it down),
    instead of after each call; nothing is started if no call needs Ray."""
    _SESSION["depth"] += 1
    try:
        yield
    finally:
        _SESSION["depth"] -= 1
        if _SESSION["depth"] == 0 and _SESSION["started"]:
            _SESSION["started"] = False
            import ray
            ray.shutdown()


def _run(fn: Callable[[Any, Any], Any], shared_ref: list, job: Any, threads: int | None) -> Any:
    """Body of one Ray task: one thread on a CPU, the shared object deserialised once per worker."""
    import ray

    if threads is not None:
        torch.set_num_threads(threads)
    key = shared_ref[0].hex()
    if key not in _SHARED:
        _SHARED.clear()
        _SHARED[key] = ray.get(shared_ref[0])
    return fn(_SHARED[key], job)


def map_tasks(fn: Callable[[Any, Any], Any], jobs: Sequence[Any], *, shared: Any = None, num_gpus: float = 0.0,
              in_process: bool = False, on_result: Callable[[int, Any], None] | None = None, progress: bool = True,
              desc: str = "jobs") -> list[Any]:
    """``[fn(shared, job) for job in jobs]``, as Ray tasks (one CPU each, or ``num_gpus`` of a GPU each).

    ``fn`` must be importable (a module-level function). ``on_result(k, result)`` is called in this process as soon
    as job ``k`` finishes (e.g. to save it, so an interrupted run loses nothing finished). ``in_process=True`` runs
    the jobs here one after another, on one thread when ``num_gpus == 0``.
    """
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress)
    threads = 1 if num_gpus == 0 else None
    if in_process:
        saved = torch.get_num_threads()
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            out = []
            for k, job in enumerate(jobs):
                out.append(fn(shared, job))
                if on_result is not None:
                    on_result(k, out[-1])
                bar.update()
            return out
        finally:
            torch.set_num_threads(saved)
            bar.close()

    import ray

    started_here = not ray.is_initialized()
    ray_init()
    task = ray.remote(_run).options(num_cpus=0 if num_gpus else 1, num_gpus=num_gpus, max_retries=0)
    shared_ref = [ray.put(shared)]
    refs = [task.remote(fn, shared_ref, job, threads) for job in jobs]
    index = {ref: k for k, ref in enumerate(refs)}
    out: list[Any] = [None] * len(jobs)
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            k = index[done[0]]
            out[k] = ray.get(done[0])
            if on_result is not None:
                on_result(k, out[k])
            bar.update()
    except BaseException:  # a failed job or an interrupt: stop every other job now
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        if started_here and _SESSION["depth"]:
            _SESSION["started"] = True  # session() shuts it down
        elif started_here:  # leave no Ray processes behind (a notebook kernel would keep them until it is killed)
            ray.shutdown()
    return out
