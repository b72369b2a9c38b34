"""Independent jobs on many cores or machines, through Ray (https://docs.ray.io).

:func:`map_tasks` runs ``fn(shared, job)`` for every job as Ray tasks and returns the results in job order.
:func:`ray_init` starts a **private local instance** on first use (``address="local"``: whatever Ray already runs on
this machine, a user's ``ray start --head`` included, is left alone; no dashboard; ``SYMLIB_WORKERS`` or the cores
this process may use set its CPUs). That instance lets no one in: it requires Ray's token authentication
(``RAY_AUTH_MODE=token``; Ray ≥ 2.52 reads the token from ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
``~/.ray/auth_token``, and generates the last one, made private here, when there is none) and its servers listen on
127.0.0.1 only (Ray otherwise replaces a node address of 127.0.0.1 by the machine's and listens on every interface;
its single-machine mode, the one it uses on macOS and Windows, is switched on while the instance starts). The
setting of ``RAY_AUTH_MODE`` this process had is restored when the instance shuts down. Only with ``RAY_ADDRESS``
set does it join a cluster, and ships the ``symlib`` package to the workers; that cluster's security is its
operator's (README). CPU tasks ask for one core and run on **one thread**, so a job's floating-point result
does not depend on the machine, the number of workers, or which worker picked it up (``tests/test_training.py``
checks it against an in-process run); GPU tasks ask for a fraction of a GPU (``num_gpus=1/8``), so several small
populations share one device. ``shared`` (data, model factory) is put in Ray's object store once and
deserialised once per worker.

A failed job or an interrupt (Ctrl-C) cancels every other job at once and re-raises. A local instance that
:func:`map_tasks` started is shut down when it returns (about 5 s to start the next time), and if the driver is
killed Ray's workers exit with it, so a killed build leaves no process computing for nobody; inside a
:func:`session` block it is kept until the block ends (several rounds of tasks, as a zoo build claims them, start Ray
once). Small workloads can run in process (``in_process=True``) with the same single-thread arithmetic. If the
private local instance fails to start (a transient failure such as its GCS aborting at start-up), the jobs run in
this process instead, one at a time with the same arithmetic, after one ``symlib: local Ray workers failed to start
(...)`` line on stderr; a cluster named by ``RAY_ADDRESS`` that cannot be joined is still an error.
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


def _import_ray():
    """``import ray`` without the noise it makes inside a notebook kernel: tqdm's "IProgress not found" warning
    (Ray imports ``tqdm.auto``, which wants ipywidgets) and Ray's INFO line asking for ipywidgets."""
    import logging
    import warnings

    logging.getLogger("ray.widgets.util").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import ray
    return ray


def ray_init() -> None:
    """Start or join Ray once per process: ``RAY_ADDRESS`` joins that cluster (shipping ``symlib`` to its workers);
    otherwise a private local instance (module docstring) with :func:`cpu_workers` CPUs, token authentication,
    listening on 127.0.0.1, no dashboard."""
    ray = _import_ray()

    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS", "")
    common = dict(include_dashboard=False, log_to_driver=False, logging_level="error")
    if address and address != "local":
        ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]}, **common)
        return
    try:
        from ray._raylet import get_authentication_mode  # noqa: F401  (token authentication: Ray >= 2.52)
    except ImportError as err:
        raise RuntimeError(f"symlib's local Ray instance requires token authentication, which Ray {ray.__version__} "
                           f"lacks: install ray>=2.52 (requirements.txt)") from err
    # local workers import whatever this process can (e.g. functions of a test module or a script's folder)
    path = os.pathsep.join(p for p in sys.path if p)
    token_file = Path.home() / ".ray" / "auth_token"
    new_token = not token_file.exists()
    try:
        if not _AUTH_MODE:
            _AUTH_MODE.append(os.environ.get("RAY_AUTH_MODE"))
        _set_auth_mode("token")
        with _loopback_only():
            ray.init(address="local", num_cpus=cpu_workers(), _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": {"PYTHONPATH": path}}, **common)
    except BaseException:
        _restore_auth_mode()
        raise
    if new_token and token_file.exists():  # Ray wrote it world-readable
        token_file.chmod(0o600)


_AUTH_MODE: list = []  # RAY_AUTH_MODE as this process had it before ray_init started a local instance


def _set_auth_mode(mode: str | None) -> None:
    """Set ``RAY_AUTH_MODE`` (``None``: unset) for this process, which its Ray processes inherit, and make this
    process's Ray read it again (it reads it once, on import)."""
    if mode is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = mode
    from ray._raylet import Config

    Config.initialize("")


def _restore_auth_mode() -> None:
    if _AUTH_MODE:
        _set_auth_mode(_AUTH_MODE.pop())


def _shutdown() -> None:
    """``ray.shutdown()``, and this process's ``RAY_AUTH_MODE`` as it was before the local instance."""
    ray = _import_ray()

    ray.shutdown()
    _restore_auth_mode()


@contextlib.contextmanager
def _loopback_only():
    """Keep a node address of 127.0.0.1 while Ray starts (then its servers listen on 127.0.0.1 only): Ray replaces it
    by the machine's address unless its single-machine mode is on (``ray_constants.ENABLE_RAY_CLUSTER``, read at
    call time; the instance's processes get the address as an argument)."""
    try:
        from ray._private import ray_constants
    except ImportError:
        yield
        return
    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        yield
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def parallel_tasks(num_gpus: float = 0.0) -> int:
    """How many tasks of :func:`map_tasks` run at once: on the cluster ``RAY_ADDRESS`` names, its CPUs (or its GPUs
    divided by ``num_gpus``); here :func:`cpu_workers` CPU tasks, or one GPU task (GPU work stays in process)."""
    if not os.environ.get("RAY_ADDRESS"):
        return 1 if num_gpus else cpu_workers()
    ray = _import_ray()

    started = not ray.is_initialized()
    ray_init()
    resources = ray.cluster_resources()
    if started and _SESSION["depth"]:
        _SESSION["started"] = True
    elif started:
        _shutdown()
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
            _shutdown()


def _run(fn: Callable[[Any, Any], Any], shared_ref: list, job: Any, threads: int | None) -> Any:
    """Body of one Ray task: one thread on a CPU, the shared object deserialised once per worker."""
    ray = _import_ray()

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
        return _in_process(fn, jobs, shared, threads, on_result, bar)

    ray = _import_ray()

    started_here = not ray.is_initialized()
    local = not os.environ.get("RAY_ADDRESS") or os.environ.get("RAY_ADDRESS") == "local"
    try:
        ray_init()
    except Exception as err:  # noqa: BLE001 — any failure to start symlib's own workers
        if not (local and started_here):
            bar.close()
            raise
        _fallback(err, len(jobs))
        return _in_process(fn, jobs, shared, threads, on_result, bar)
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
            _shutdown()
    return out


def _in_process(fn, jobs, shared, threads, on_result, bar) -> list[Any]:
    """``map_tasks`` in this process, one job after another (on one thread for CPU jobs)."""
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


def _fallback(err: BaseException, n_jobs: int) -> None:
    """Say, in one line, that the local Ray workers did not start and the jobs run here; leave no half-started
    instance behind."""
    try:
        _shutdown()
    except Exception:  # noqa: BLE001 — nothing to shut down
        pass
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    print(f"symlib: local Ray workers failed to start ({type(err).__name__}: {reason}); running the {n_jobs} "
          f"task(s) in this process instead (one at a time)", file=sys.stderr, flush=True)
