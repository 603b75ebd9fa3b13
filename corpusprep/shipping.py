"""What the driver does to work before any executor ships it: every path absolute, or a URL.

A worker never resolves a relative path itself. On a Ray node its working directory is the
raylet's, so a relative input would open a different file of the same name there (and exit 0),
and a relative ``--out`` would put work folders there. Paths are therefore resolved here, on the
driver, once, right after planning (so the driver's resume checks and the workers' done-markers
name the same absolute paths). What outputs and reports record stays the path as the user gave
it (``WorkUnit.given``): local runs write the bytes they always did.
"""
from __future__ import annotations

import dataclasses
import os

from corpusprep.storage import absolute, configure, current_options, display, is_url, split_credentials


def path(target):
    """``target`` absolute (a local path) or a normalised URL without credentials; None stays None.

    Credentials inside a URL (``s3://KEY:SECRET@bucket/...``) are taken out and added to the storage
    options, which reach workers by reference (executors.call_configured), never in a task's arguments."""
    if target is None:
        return None
    target = os.fspath(target)
    if is_url(target):
        _, creds = split_credentials(target)
        if creds and any(current_options().get(k) != v for k, v in creds.items()):
            configure({**current_options(), **creds})
    return absolute(target)


def unit(u):
    """A reader ``WorkUnit`` whose ``path`` (and ``pair`` option) are absolute; ``source`` unchanged."""
    changes = {}
    where = path(u.path)
    if where != u.path:
        changes.update(path=where, given=display(u.source))  # a URL's records never carry its credentials
    pair = u.option("pair")
    if isinstance(pair, str) and path(pair) != pair:
        changes["options"] = tuple((k, path(v) if k == "pair" else v) for k, v in u.options)
    return dataclasses.replace(u, **changes) if changes else u


def units(us) -> list:
    return [unit(u) for u in us]


def with_out(config, out=None):
    """``config`` with ``out`` absolute (workers derive their work folders from it), or ``out``."""
    target = path(config.out) if out is None else out
    return config if target == config.out else dataclasses.replace(config, out=target)

