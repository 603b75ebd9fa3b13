"""Process lifecycle: a run stops cleanly on SIGTERM / Ctrl-C, and its workers never outlive it.

Parent side: ``stop_on_signals()`` turns SIGINT, SIGTERM and SIGHUP into an ``Interrupted``
exception, so ``finally`` blocks and executors' ``close()`` run (workers are stopped, work already
committed stays for the resume) and the CLI exits with 128 + the signal number (130, 143, 129).

Worker side: ``die_with_parent(pid)`` (an executor's worker initializer) makes the worker die when
its parent dies, however the parent died (SIGKILL included): the kernel sends it SIGKILL
(Linux ``PR_SET_PDEATHSIG``), and a watcher thread checks the parent pid as a portable fallback.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
PARENT_POLL_S = 0.25
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Interrupted(BaseException):
    """The run was asked to stop by a signal. A BaseException like KeyboardInterrupt, so
    ``except Exception`` handlers do not swallow it, and click/typer do not turn it into 'Aborted!'."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signum)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}"


_received: Interrupted | None = None


def _raise_interrupted(signum, frame):
    global _received
    _received = Interrupted(signum)
    raise _received


def raise_if_interrupted() -> None:
    """Re-raise a stop signal that native code swallowed: sentencepiece's trainer turns an
    exception raised in its Python sentence iterator into a RuntimeError."""
    if _received is not None:
        raise _received


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, a stop signal raises ``Interrupted`` in the main thread.

    A signal that is ignored when we start (``nohup``, or SIGINT for a background job of a
    non-interactive shell) stays ignored: the user asked for that.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue
        previous[signum] = signal.signal(signum, _raise_interrupted)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """Restore this process's stop-signal handlers after a library call that replaces them.

    ``ray.init`` installs a SIGTERM handler that calls ``sys.exit(15)``; a SIGTERM that arrives
    while it is in place still becomes ``Interrupted`` when ours was installed before.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        yield
    except SystemExit as exc:
        if exc.code == signal.SIGTERM and saved.get(signal.SIGTERM) is _raise_interrupted:
            raise Interrupted(signal.SIGTERM) from None
        raise
    finally:
        for signum, handler in saved.items():
            if handler is not None:
                signal.signal(signum, handler)


def _set_parent_death_signal(signum: int) -> bool:
    """Ask the Linux kernel to send ``signum`` to this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _stat(pid) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) from /proc/PID/stat, None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # the name may hold spaces
        return int(fields[1]), int(fields[19])  # fields 4 (ppid) and 22 (starttime)
    except (OSError, ValueError, IndexError):
        return None


def _parent_of(pid: int) -> int | None:
    stat = _stat(pid)
    return None if stat is None else stat[0]


def _started_by(run_pid: int, parent: int) -> bool:
    """Our parent is the run itself (spawn) or a helper the run started (a forkserver)."""
    if parent == run_pid:
        return True
    grandparent = _parent_of(parent)
    return grandparent == run_pid if grandparent is not None else _exists(run_pid)


def _watch_parent(parent: int, run_pid: int) -> None:
    # When the parent dies we are re-parented (to init or a subreaper), so getppid() changes; a
    # forkserver parent exits when the run does (it watches a pipe from the run).
    while os.getppid() == parent and _exists(run_pid):
        time.sleep(PARENT_POLL_S)
    _kill_self()


def die_with_parent(run_pid: int) -> None:
    """Worker initializer: end this worker as soon as the run (``run_pid``) is gone.

    The worker's parent is the run (spawn) or a forkserver the run started, which exits with it.
    SIGKILL, not a gentler signal: a worker's unit is pure and its output files are committed
    atomically, so nothing is lost that a resumed run does not redo, and SIGKILL also ends a
    worker stuck in native code. Ctrl-C reaches the whole process group; workers ignore it and
    let the parent decide (it stops them), so a run prints one message, not one per worker.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_parent_death_signal(signal.SIGKILL)  # fires when the parent (run or forkserver) dies
    parent = os.getppid()
    if not _started_by(run_pid, parent) or not _exists(run_pid):  # it died before the signal was armed
        _kill_self()
    threading.Thread(target=_watch_parent, args=(parent, run_pid), name="zooprep-parent-watch", daemon=True).start()


def marked_processes(key: str, value: str) -> list[int]:
    """Pids of this user's processes whose environment holds ``key=value`` (Linux /proc; else [])."""
    needle = f"{key}={value}".encode()
    pids = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return pids
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    pids.append(int(name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks) of every process (Linux /proc)."""
    stats = {int(name): _stat(name) for name in os.listdir("/proc") if name.isdigit()}
    return {pid: stat for pid, stat in stats.items() if stat is not None}


def descendants(root: int, table: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """pid -> start time of every living descendant of ``root``."""
    table = _proc_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = table[pid][1]
            todo.extend(children.get(pid, []))
    return found


def kill_marked(key: str, value: str, known: dict[int, int] | None = None, quiet_scans: int = 4,
                limit_s: float = 120.0) -> None:
    """SIGKILL every process carrying the marker, and every ``known`` process (pid -> start time,
    so a reused pid is spared) with its descendants, until ``quiet_scans`` scans in a row find none.

    Repeated scans catch children that a dying service was starting meanwhile. ``known`` covers
    processes whose environment no longer shows the marker (Ray's agents rename themselves, and
    one seen in CI had lost it), so the marker alone is not enough.
    """
    me = os.getpid()
    known = dict(known or {})
    deadline = time.monotonic() + limit_s
    quiet = 0
    while quiet < quiet_scans and time.monotonic() < deadline:
        table = _proc_table()
        for pid, start in list(known.items()):
            if table.get(pid, (0, None))[1] == start:
                known.update(descendants(pid, table))
        pids = {pid for pid, start in known.items() if table.get(pid, (0, None))[1] == start}
        pids.update(marked_processes(key, value))
        pids.discard(me)
        quiet = 0 if pids else quiet + 1
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(PARENT_POLL_S)


def reap_when_gone(key: str, value: str) -> None:
    """Start a small watcher that, once this process has ended (however it ended), kills every
    process carrying the marker ``key=value`` in its environment.

    For process trees we start but cannot arm ourselves, such as the services of a private Ray
    runtime: after a SIGKILL of the driver its dashboard and runtime-env agents otherwise live on.
    The caller puts the marker (unique per run) into the environment those processes inherit; the
    watcher also remembers every descendant of the run it has seen, since the marker can be lost.
    """
    if not os.path.isdir("/proc"):
        return
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != key}
    # Its own session: a Ctrl-C or kill of the run's process group must not end the watcher first.
    # -I: the watcher needs only the stdlib, and must not import modules beside this file as top-level ones.
    subprocess.Popen([sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), key, value], env=env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


def _reaper_main(parent_pid: int, key: str, value: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    me = os.getpid()
    known: dict[int, int] = {}  # every process the run started while it lived (pid -> start time)
    while os.getppid() == parent_pid:
        known.update({pid: start for pid, start in descendants(parent_pid).items() if pid != me})
        time.sleep(PARENT_POLL_S)
    kill_marked(key, value, known)


if __name__ == "__main__":  # the watcher started by reap_when_gone
    _reaper_main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
