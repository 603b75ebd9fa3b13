"""Paths and URLs: telling them apart, making them absolute, and printing them without secrets.

A *target* is a local path or a URL with a scheme (``s3://bucket/key``, ``gs://``, ``hdfs://``,
``memory://``, ...). ``file://`` URLs are local paths. Credentials inside a URL
(``s3://KEY:SECRET@bucket/key``) are taken out of it here, registered as secrets (so ``scrub``
removes them from any text) and handed to the filesystem as options; what zooprep records and
prints is always the URL without them.
"""
from __future__ import annotations

import os
import re
import threading
from urllib.parse import unquote

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/@]*)@")
# any scheme://user:pass@ inside free text (error messages from client libraries, argv echoes)
_USERINFO_ANYWHERE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s'\"]*:[^/@\s'\"]*@")
_SECRET_QUERY = re.compile(r"([?&](?:X-Amz-[A-Za-z-]+|Signature|sig|token|access_token|key|secret)=)[^&\s'\"]*",
                           re.IGNORECASE)
_secrets: set[str] = set()
_lock = threading.Lock()


def is_url(target) -> bool:
    """True for ``scheme://...`` other than ``file://`` (a local path in URL form)."""
    m = _SCHEME.match(str(target))
    return bool(m) and m.group(1).lower() != "file"


def protocol(target) -> str:
    m = _SCHEME.match(str(target))
    return m.group(1).lower() if m else "file"


def add_secret(value) -> None:
    """Remember a credential so that ``scrub`` removes it from every text zooprep prints or writes."""
    if isinstance(value, str) and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def split_credentials(target: str) -> tuple[str, dict]:
    """``s3://KEY:SECRET@bucket/k`` -> (``s3://bucket/k``, {"key": KEY, "secret": SECRET})."""
    m = _USERINFO.match(target)
    if not m:
        return target, {}
    user, _, password = m.group(2).partition(":")
    user, password = unquote(user), unquote(password)
    creds = {"key": user, "secret": password} if password else {"username": user}
    for v in creds.values():
        add_secret(v)
    return m.group(1) + target[m.end():], creds


def scrub(text) -> str:
    """``text`` with URL user-info, signed-query secrets and every registered secret removed."""
    text = _USERINFO_ANYWHERE.sub(r"\1", str(text))
    text = _SECRET_QUERY.sub(r"\1***", text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        text = text.replace(s, "***")
    return text


def display(target) -> str:
    """How a target is printed and recorded: a URL without credentials, a local path as given."""
    return scrub(str(target)) if is_url(target) else str(target)


def absolute(target) -> str:
    """A target that means the same thing on every machine and in every working directory:
    URLs without credentials (normalised ``scheme://bucket/key``), local paths absolute
    (``file://`` URLs become paths). Relative paths are resolved here, on the driver, never on a
    worker."""
    target = os.fspath(target) if not isinstance(target, str) else target
    if is_url(target):
        clean, _ = split_credentials(target)
        scheme, rest = clean.split("://", 1)
        rest = re.sub(r"/{2,}", "/", rest)
        return f"{scheme.lower()}://{rest}"
    if target[:7].lower() == "file://":
        target = unquote(target[len("file://"):])
    return os.path.abspath(target)


def join(base: str, *parts: str) -> str:
    """``base/part/...`` for a path or a URL (URLs always use '/')."""
    if not is_url(base):
        return os.path.join(base, *parts)
    out = base.rstrip("/")
    for p in parts:
        out += "/" + str(p).strip("/")
    return out


def parent(target: str) -> str:
    if not is_url(target):
        return os.path.dirname(target)
    scheme, rest = target.split("://", 1)
    rest = rest.rstrip("/")
    return f"{scheme}://{rest.rsplit('/', 1)[0]}" if "/" in rest else f"{scheme}://{rest}"


def name(target: str) -> str:
    return str(target).rstrip("/").rsplit("/", 1)[-1] if is_url(target) else os.path.basename(target)


def inside(child: str, folder: str) -> bool:
    """``child`` lies strictly inside ``folder`` (both absolute, same kind)."""
    sep = "/" if is_url(folder) else os.sep
    return child != folder and child.startswith(folder.rstrip(sep) + sep)
