"""The private-runtime watcher (`lifecycle.reap_when_gone`) removes everything a SIGKILLed run started,
also processes whose environment lost the run's marker (seen with Ray's agents in CI)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import REPO

DRIVER = r'''
import os, subprocess, sys, time
from corpusprep.lifecycle import reap_when_gone
key, value = sys.argv[1], sys.argv[2]
reap_when_gone(key, value)
os.environ[key] = value
marked = subprocess.Popen(["sleep", "300"], start_new_session=True)
# Started through an intermediate process, with an environment that lacks the marker.
unmarked = subprocess.Popen(["sleep", "300"], env={"PATH": os.environ.get("PATH", "")}, start_new_session=True)
print(marked.pid, unmarked.pid, flush=True)
time.sleep(300)
'''


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"  # a zombie is dead
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="the watcher needs Linux /proc")
def test_watcher_kills_marked_and_unmarked_descendants_after_sigkill():
    key, value = "ZOOPREP_TEST_REAPER", uuid.uuid4().hex
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, key, value], env=env, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    children = []
    try:
        children = [int(p) for p in driver.stdout.readline().split()]
        assert len(children) == 2 and all(_alive(p) for p in children)
        time.sleep(1.5)  # the watcher records the run's descendants a few times a second
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in children if _alive(p)], "processes of the killed run still running"
    finally:
        driver.kill()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
