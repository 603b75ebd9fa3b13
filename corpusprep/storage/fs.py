"""Byte-level access to a local path or a URL, through fsspec for URLs and ``os`` for local paths.

Every reader and writer that may meet a URL goes through these few functions, so the rest of
zooprep does not care where the bytes live. Options for the filesystems come, in this order of
precedence, from credentials inside the URL, ``configure()`` (the CLI's ``--storage-options JSON``,
Hugging Face's meaning: keyword arguments of the fsspec filesystem), the environment variable
``ZOOPREP_STORAGE_OPTIONS`` (JSON; how workers on other machines receive them) and the usual
places each filesystem reads itself (``AWS_*`` variables incl. ``AWS_ENDPOINT_URL``, credential
files, fsspec configuration).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from typing import IO, Iterator

from corpusprep.errors import ZooprepError
from corpusprep.storage.url import absolute, add_secret, display, is_url, join, protocol, split_credentials

_CHUNK = 1 << 20
_SECRET_KEYS = ("secret", "key", "token", "password", "credential", "sas", "signature")
_options: dict = {}
_fs_cache: dict = {}
_fs_lock = threading.Lock()


class StorageError(ZooprepError):
    """A URL that cannot be used (unknown protocol, missing client library, refused request)."""


def _is_secret_key(k: str) -> bool:
    k = k.lower()
    return any(s in k for s in _SECRET_KEYS) and k not in ("key_prefix",)


def _register_secrets(obj) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                _register_secrets(v)
            elif _is_secret_key(str(k)):
                add_secret(v)
    elif isinstance(obj, list):
        for v in obj:
            _register_secrets(v)


def configure(storage_options: dict | str | None) -> None:
    """Set the process-wide filesystem options (``--storage-options``). Secrets among them are
    registered so that nothing zooprep prints or writes carries them."""
    global _options
    if isinstance(storage_options, str):
        storage_options = parse_options(storage_options)
    _options = dict(storage_options or {})
    _register_secrets(_options)
    with _fs_lock:
        _fs_cache.clear()


def parse_options(text: str | None) -> dict:
    """``--storage-options`` JSON -> dict, or one clear error (never echoing the value: it may hold secrets)."""
    if text is None or text == "":
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ZooprepError(f"--storage-options: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ZooprepError("--storage-options: must be a JSON object, e.g. '{\"endpoint_url\": \"http://host:9000\"}'")
    return value


def current_options() -> dict:
    """The options in force (configure() over ZOOPREP_STORAGE_OPTIONS); for shipping to workers."""
    env = os.environ.get("ZOOPREP_STORAGE_OPTIONS")
    base = {}
    if env:
        try:
            base = json.loads(env)
        except ValueError:
            raise ZooprepError("ZOOPREP_STORAGE_OPTIONS: not valid JSON") from None
        _register_secrets(base)
    return {**base, **_options}


def _to_fs_kwargs(proto: str, opts: dict, creds: dict) -> dict:
    kwargs = dict(opts)
    # Hugging Face / s3fs accept endpoint_url at the top level; s3fs wants it in client_kwargs
    if proto in ("s3", "s3a") and "endpoint_url" in kwargs:
        ck = dict(kwargs.get("client_kwargs") or {})
        ck.setdefault("endpoint_url", kwargs.pop("endpoint_url"))
        kwargs["client_kwargs"] = ck
    if proto in ("s3", "s3a"):
        env_endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if env_endpoint and "endpoint_url" not in (kwargs.get("client_kwargs") or {}):
            kwargs["client_kwargs"] = {**(kwargs.get("client_kwargs") or {}), "endpoint_url": env_endpoint}
    kwargs.update(creds)
    return kwargs


def filesystem(target: str):
    """(fsspec filesystem, path inside it) for a URL; cached per protocol and options."""
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec comes with datasets
        raise StorageError(f"{display(target)}: URLs need fsspec (pip install fsspec)") from None
    clean, creds = split_credentials(str(target))
    proto = protocol(clean)
    kwargs = _to_fs_kwargs(proto, current_options(), creds)
    key = (proto, json.dumps(kwargs, sort_keys=True, default=str))
    with _fs_lock:
        fs = _fs_cache.get(key)
    if fs is None:
        try:
            cls = fsspec.get_filesystem_class(proto)
        except (ImportError, ValueError) as exc:
            raise StorageError(f"{display(clean)}: cannot use {proto}:// URLs: {display(exc)}") from None
        try:
            fs = cls(**kwargs)
        except TypeError as exc:
            raise StorageError(f"--storage-options: not accepted by {proto}:// ({display(exc)})") from None
        with _fs_lock:
            _fs_cache[key] = fs
    return fs, fs._strip_protocol(clean)


def _wrap(target, exc: BaseException) -> ZooprepError:
    """One clear, secret-free error for a failed storage call."""
    if isinstance(exc, ZooprepError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return StorageError(f"{display(target)}: no such file or object")
    if isinstance(exc, PermissionError):
        return StorageError(f"{display(target)}: permission denied")
    msg = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StorageError(f"{display(target)}: {display(msg).splitlines()[0]}")


# ------------------------------------------------------------------------------------- reading
def open_read(target, block_size: int = 8 << 20) -> IO[bytes]:
    """A seekable binary file; for URLs reads are ranged GETs of ``block_size`` (nothing is
    downloaded whole)."""
    if not is_url(target):
        return open(target, "rb")
    fs, path = filesystem(target)
    try:
        fh = fs.open(path, "rb", block_size=block_size, cache_type="readahead")
    except Exception as exc:  # noqa: BLE001 - every client error becomes one clear line
        raise _wrap(target, exc) from None
    # fsspec's files lack io's full interface (readline(size), peek): give them the same as open()
    return io.BufferedReader(fh, buffer_size=1 << 16)


def read_bytes(target, start: int = 0, end: int | None = None) -> bytes:
    if not is_url(target):
        with open(target, "rb") as fh:
            fh.seek(start)
            return fh.read() if end is None else fh.read(max(0, end - start))
    fs, path = filesystem(target)
    try:
        return fs.cat_file(path, start=start or None, end=end)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None


def info(target) -> dict:
    """{"size", "kind" ("file"/"directory"), "etag", "version", "mtime_ns"} of a target."""
    if not is_url(target):
        st = os.stat(target)
        return {"size": st.st_size, "kind": "directory" if os.path.isdir(target) else "file",
                "etag": None, "version": None, "mtime_ns": st.st_mtime_ns}
    fs, path = filesystem(target)
    try:
        i = fs.info(path)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None
    return {"size": int(i.get("size") or 0), "kind": "directory" if i.get("type") == "directory" else "file",
            "etag": (i.get("ETag") or i.get("etag") or i.get("md5Hash") or None),
            "version": i.get("VersionId") or i.get("generation") or None, "mtime_ns": None}


def _ask(target, local, method: str):
    """``local(target)`` for a path, else the fsspec filesystem's ``method`` (its errors: one line)."""
    if not is_url(target):
        return local(target)
    fs, path = filesystem(target)
    try:
        return getattr(fs, method)(path)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None


def exists(target) -> bool:
    return _ask(target, os.path.exists, "exists")


def isdir(target) -> bool:
    return _ask(target, os.path.isdir, "isdir")


def list_files(folder) -> list[str]:
    """Every file under ``folder`` (recursive), as full targets, sorted by path components."""
    if not is_url(folder):
        out = [os.path.join(r, n) for r, _, names in os.walk(folder) for n in names]
        return sorted(out, key=lambda p: os.path.relpath(p, folder).split(os.sep))
    fs, path = filesystem(folder)
    try:
        found = fs.find(path, withdirs=False)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(folder, exc) from None
    base = path.rstrip("/")
    rels = sorted((p[len(base) + 1:] for p in found if p.startswith(base + "/")), key=lambda r: r.split("/"))
    return [join(absolute(folder), r) for r in rels]


def glob(pattern: str) -> list[str]:
    if not is_url(pattern):
        import glob as _glob

        return sorted(_glob.glob(pattern, recursive=True))
    fs, path = filesystem(pattern)
    scheme = protocol(pattern)
    try:
        return sorted(f"{scheme}://{p}" for p in fs.glob(path))
    except Exception as exc:  # noqa: BLE001
        raise _wrap(pattern, exc) from None


def sha256(target, start: int = 0, end: int | None = None) -> str:
    """sha256 of bytes [start, end) of a target, streamed."""
    h = hashlib.sha256()
    for block in iter_chunks(target, start, end):
        h.update(block)
    return h.hexdigest()


def identity(target, start: int = 0, end: int | None = None) -> dict:
    """Content identity of a byte range: path (secret-free), range, size, the object's ETag and
    version (URLs) or mtime_ns (local files), and the sha256 of the range's bytes."""
    i = info(target)
    out = {"path": display(target), "start": start, "end": end, "size": i["size"]}
    if is_url(target):
        out.update(etag=i["etag"], version=i["version"])
    else:
        out["mtime_ns"] = i["mtime_ns"]
    out["sha256"] = sha256(target, start, end)
    return out


def identity_changed(recorded: dict, target=None) -> str | None:
    """Why a recorded ``identity`` no longer holds (None when it does). ``target``: where to look
    now (default: the recorded path; a URL's credentials are never recorded, so pass it)."""
    target = target or recorded.get("path")
    try:
        i = info(target)
    except (OSError, ZooprepError):
        return f"{display(target)}: input gone"
    if i["size"] != recorded.get("size"):
        return f"{display(target)}: input changed (size)"
    if is_url(target):
        if (recorded.get("etag"), recorded.get("version")) != (i["etag"], i["version"]):
            return f"{display(target)}: input changed (ETag or version)"
    elif i["mtime_ns"] != recorded.get("mtime_ns"):
        return f"{display(target)}: input changed (size or modification time)"
    if sha256(target, recorded.get("start", 0), recorded.get("end")) != recorded.get("sha256"):
        return f"{display(target)}: input bytes changed"
    return None


# ------------------------------------------------------------------------------------- writing
def put_file(local: str, target: str) -> None:
    """Upload a local file (multipart for large ones). Not atomic by itself: callers publish a
    commit record after every file is in place (corpusprep.outdir.remote)."""
    fs, path = filesystem(target)
    try:
        fs.put_file(local, path)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None


def get_file(target: str, local: str) -> None:
    """Download to ``local`` through a temporary sibling: a partial download never has the final name."""
    from corpusprep.atomic import tmp_name

    tmp = tmp_name(local)
    os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
    fs, path = filesystem(target)
    try:
        fs.get_file(path, str(tmp))
        os.replace(tmp, local)
    except Exception as exc:  # noqa: BLE001
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _wrap(target, exc) from None


def write_bytes(target: str, data: bytes) -> None:
    if not is_url(target):
        from corpusprep.atomic import write_bytes as atomic_write

        atomic_write(target, data)
        return
    fs, path = filesystem(target)
    try:
        fs.pipe_file(path, data)
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None


def create_exclusive(target: str, data: bytes) -> bool:
    """Write ``data`` only if no object exists at ``target`` (S3 ``If-None-Match: *``); False when
    one does. The commit point and lock of zooprep's object-store protocol."""
    fs, path = filesystem(target)
    try:
        fs.pipe_file(path, data, mode="create")
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if _precondition_failed(exc):
            return False
        raise _wrap(target, exc) from None
    except Exception as exc:  # noqa: BLE001
        raise _wrap(target, exc) from None


def _precondition_failed(exc: BaseException) -> bool:
    text = str(exc)
    return "PreconditionFailed" in text or "pre-conditions you specified did not hold" in text or "412" in text


def replace_if_match(target: str, data: bytes, etag: str) -> bool:
    """Overwrite ``target`` only while its ETag is still ``etag`` (S3 ``If-Match``); False otherwise.
    Filesystems without conditional writes compare and write (not atomic; said in docs/scale.md)."""
    fs, path = filesystem(target)
    if protocol(target) in ("s3", "s3a"):
        bucket, key, _ = fs.split_path(path)
        try:
            fs.call_s3("put_object", Bucket=bucket, Key=key, Body=data, IfMatch=etag)
            fs.invalidate_cache(path)
            return True
        except (OSError, Exception) as exc:  # noqa: BLE001
            if _precondition_failed(exc) or isinstance(exc, FileNotFoundError):
                return False
            raise _wrap(target, exc) from None
    try:
        if info(target)["etag"] != etag:
            return False
    except ZooprepError:
        return False
    write_bytes(target, data)
    return True


def delete(target: str, etag: str | None = None) -> bool:
    """Delete one object (only while its ETag is ``etag``, where given and supported); True if gone."""
    if not is_url(target):
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        return True
    fs, path = filesystem(target)
    try:
        if etag and protocol(target) in ("s3", "s3a"):
            bucket, key, _ = fs.split_path(path)
            fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=etag)
            fs.invalidate_cache(path)
        else:
            fs.rm_file(path)
        return True
    except FileNotFoundError:
        return True
    except Exception as exc:  # noqa: BLE001
        if _precondition_failed(exc):
            return False
        raise _wrap(target, exc) from None


def iter_chunks(target, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    from corpusprep.atomic import range_chunks

    with open_read(target) as fh:
        yield from range_chunks(fh, start, end)
