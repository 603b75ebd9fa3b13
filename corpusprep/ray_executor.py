"""Run work units on a Ray cluster (or a local Ray runtime) with the Executor interface.

Same contract as `LocalExecutor`: results come back in the order of the items and at most
``window`` units are in flight, so the driver's memory does not grow with the number of units.
Units are pure functions of their input (a file or byte range). The driver makes every path absolute
before shipping (corpusprep.shipping); workers read inputs and write outputs by path or URL, so local
paths need a shared file system, URLs (object storage) need none (with a remote --out the tasks run on
node-local scratch roots: corpusprep.outdir.nodes). Every node needs zooprep installed.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

from corpusprep.errors import ZooprepError
from corpusprep.task_calls import call_configured, in_order
from corpusprep.lifecycle import keep_signal_handlers, reap_when_gone

T = TypeVar("T")
R = TypeVar("R")

ABANDON_TIMEOUT_S = 30.0
_INSTALL_HINT = "the ray executor needs Ray: pip install -e '.[ray]' (or pip install 'ray[default]')"


def _import_ray():
    try:
        import ray  # optional extra; imported only when --executor ray is chosen
    except ImportError:
        raise ZooprepError(_INSTALL_HINT) from None
    return ray


def _driver_pythonpath() -> str:
    return os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))


_RUNTIME_MARKER = "ZOOPREP_RAY_RUNTIME"
PROBE_TIMEOUT_S = 3.0
_ADDRESS_FORMS = "auto, HOST:PORT or ray://HOST:PORT"


def _host_port(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [IPv6]:port
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c in host for c in "/@ "):
        return None
    return host, int(port)


def check_address(address: str | None, source: str = "--ray-address") -> None:
    """Refuse a malformed or unreachable cluster address in seconds, in one line.

    ``ray.init`` itself raises a bare ValueError on a malformed address and retries an unreachable
    one for minutes; a TCP connect to the cluster's port (the GCS, or the Ray client server for
    ``ray://``) answers at once. ``auto`` is resolved the way Ray does (the address file of a cluster
    started on this machine, else RAY_ADDRESS)."""
    if address is None or address in ("local",):
        return
    text = address.strip()
    if text == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address_or_die
        except ImportError:  # a private helper: without it, leave the lookup to ray.init
            return
        try:
            text = canonicalize_bootstrap_address_or_die("auto")
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ZooprepError(f"{source} auto: no running Ray cluster found on this machine "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    elif text.startswith("ray://"):
        text = text[len("ray://"):].rstrip("/")
    elif "://" in text:
        raise ZooprepError(f"{source} {address!r}: not a Ray address (use {_ADDRESS_FORMS})")
    where = _host_port(text)
    if where is None:
        raise ZooprepError(f"{source} {address!r}: not a Ray address (use {_ADDRESS_FORMS})")
    import socket

    try:
        socket.create_connection(where, timeout=PROBE_TIMEOUT_S).close()
    except socket.gaierror:
        raise ZooprepError(f"{source} {address!r}: unknown host {where[0]!r}") from None
    except OSError as exc:
        why = "connection refused" if isinstance(exc, ConnectionRefusedError) else (
            f"no answer within {PROBE_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else exc.strerror or str(exc))
        raise ZooprepError(f"cannot reach the Ray cluster at {address!r} ({source}): {why}; is the cluster "
                           "running (`ray status`) and the port open?") from None


def check_target(address: str | None) -> None:
    """``check_address`` of the cluster a run would join: ``address``, else ``RAY_ADDRESS``."""
    if address is not None:
        check_address(address)
    elif os.environ.get("RAY_ADDRESS"):
        check_address(os.environ["RAY_ADDRESS"], "RAY_ADDRESS")


@contextlib.contextmanager
def _reaped_runtime():
    """Mark the processes a private runtime starts (they inherit the environment) and have them
    killed once this driver is gone: Ray stops its own services only on a clean exit."""
    marker = f"{os.getpid()}-{uuid.uuid4().hex}"
    reap_when_gone(_RUNTIME_MARKER, marker)
    os.environ[_RUNTIME_MARKER] = marker
    try:
        yield
    finally:
        os.environ.pop(_RUNTIME_MARKER, None)


class RayExecutor:
    """``address=None`` starts (or joins) a local Ray runtime; ``"auto"`` or ``"ray://host:10001"`` joins a cluster."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, window: int | None = None):
        ray = _import_ray()
        self._ray = ray
        self._owns_runtime = False
        if not ray.is_initialized():
            with keep_signal_handlers():  # ray.init replaces SIGTERM handling with a bare exit(15)
                self._init(ray, workers, address)
            self._owns_runtime = True
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or max(1, cluster_cpus)
        self.window = window or 2 * self.workers
        self._remote = ray.remote(num_cpus=1, max_retries=2)(call_configured)
        self._maps: dict[int, deque] = {}  # in-flight refs of each unfinished map, by id

    @staticmethod
    def _init(ray, workers: int | None, address: str | None) -> None:
        """Join ``address`` (or RAY_ADDRESS); with neither, join a cluster started on this machine
        with `ray start`, or else start a private local runtime with ``workers`` CPUs."""
        common = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=True)
        check_target(address)  # malformed or unreachable: one line now, not minutes of retries
        try:
            if address is None and not os.environ.get("RAY_ADDRESS"):
                try:
                    with _reaped_runtime():
                        # Like spawned local processes, private local workers see the driver's import path.
                        ray.init(**common, **({"num_cpus": workers} if workers else {}),
                                 runtime_env={"env_vars": {"PYTHONPATH": _driver_pythonpath()}})
                    return
                except ValueError as exc:
                    if "existing cluster" not in str(exc):
                        raise
            ray.init(address=address, **common)  # a cluster: it has its own size and import paths
        except ValueError as exc:  # "Invalid address format: bad addr"
            raise ZooprepError(f"--ray-address {address!r}: {str(exc).splitlines()[0] if str(exc) else exc}; "
                               "use auto, HOST:PORT or ray://HOST:10001") from None
        except ConnectionError as exc:
            raise ZooprepError(
                f"cannot reach the Ray cluster at {address or os.environ.get('RAY_ADDRESS')!r}: {exc}. If the "
                "cluster uses token authentication (default for local clusters from Ray 2.59), set "
                "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (see `ray get-auth-token`), or use --ray-address auto "
                "on a cluster node."
            ) from None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ray
        from corpusprep.storage import current_options

        fn_ref = ray.put(fn)  # ship the (possibly large) callable once, not per unit
        # Storage options (credentials included) travel by reference: a task's arguments hold only the
        # ObjectRef, which Ray resolves in the worker; task specs, logs and the dashboard never show them.
        options_ref = ray.put(current_options())
        pending: deque = deque()
        self._maps[id(pending)] = pending
        try:
            yield from in_order(lambda item: self._remote.remote(options_ref, fn_ref, item), self._get, items,
                                self.window, pending)
        finally:
            self._abandon(pending)
            self._maps.pop(id(pending), None)

    def _abandon(self, refs) -> None:
        """Cancel work still in flight after a failure or an early stop, and collect the outcomes so
        Ray does not print each unretrieved failure as an 'Unhandled error' traceback.

        The cancel is repeated until each task has ended: a cancel that reaches a task while its
        worker is being leased is lost (seen with Ray 2.60: the task then ran to its end)."""
        ray = self._ray
        remaining = list(refs)
        deadline = time.monotonic() + ABANDON_TIMEOUT_S
        while remaining and time.monotonic() < deadline:
            for ref in remaining:
                ray.cancel(ref, force=True)
            _, remaining = ray.wait(remaining, num_returns=len(remaining), timeout=1.0)
        for ref in refs:
            if ref in remaining:
                continue
            try:
                ray.get(ref, timeout=0)
            except Exception:  # cancelled, or failed like the unit that stopped the map
                pass
        refs.clear()

    def _get(self, ref):
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            # Re-raise the worker's own exception (e.g. InputError naming the file), not Ray's wrapper.
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise

    def close(self) -> None:
        """Cancel what is still in flight (a map abandoned by an error, Ctrl-C or SIGTERM raised
        in the caller), then shut down the runtime if this executor started it."""
        while self._maps:
            self._abandon(self._maps.popitem()[1])
        if self._owns_runtime and self._ray.is_initialized():
            with keep_signal_handlers():  # ray.shutdown resets SIGTERM to the default (die, no cleanup)
                self._ray.shutdown()
        self._owns_runtime = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
