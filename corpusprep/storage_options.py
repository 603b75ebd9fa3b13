"""``--storage-options JSON``: declared once here, added by ``cli.py`` to every command that reads or
writes data.

Hugging Face's meaning: keyword arguments of the fsspec filesystem a URL opens (``key``,
``secret``, ``endpoint_url``, ``client_kwargs``...). Before the command runs, credentials written
into a URL argument (``s3://KEY:SECRET@bucket/key``) are taken out of it and merged into these
options, so the command only ever sees, records and prints URLs without secrets; the options are
handed to worker processes through ``ZOOPREP_STORAGE_OPTIONS`` (their environment, never their
arguments).
"""
from __future__ import annotations

import functools
import inspect
import json
import os
from typing import Optional

import typer

from corpusprep import storage
from corpusprep.errors import ZooprepError

HELP = ("JSON object of fsspec filesystem options for URL inputs/outputs (s3://, gs://, ...), as Hugging Face's "
        "storage_options, e.g. '{\"key\": ..., \"secret\": ..., \"endpoint_url\": \"http://host:9000\"}'. "
        "Default: the usual places (AWS_* / AWS_ENDPOINT_URL, credential files, ZOOPREP_STORAGE_OPTIONS).")


def apply(text: str | None, values: dict) -> dict:
    """Configure storage from ``--storage-options`` and the URL arguments in ``values`` (a command's
    parameters); returns ``values`` with credentials taken out of every URL."""
    options = storage.parse_options(text)
    found: dict = {}

    def clean(value):
        if isinstance(value, str) and value[:7].lower() == "file://":
            return storage.absolute(value)  # a local path in URL form
        if isinstance(value, str) and storage.is_url(value):
            url, creds = storage.split_credentials(value)
            if creds:
                if found and found != creds:
                    raise ZooprepError(f"{storage.display(url)}: URLs of one run carry different credentials; "
                                       "give them once, with --storage-options")
                found.update(creds)
            return url
        if isinstance(value, (list, tuple)):
            return type(value)(clean(v) for v in value)
        return value

    out = {k: clean(v) for k, v in values.items()}
    options.update(found)
    if options or os.environ.get("ZOOPREP_STORAGE_OPTIONS"):
        storage.configure(options)
        # worker processes (local pools) are started with this environment: they build the same filesystems
        os.environ["ZOOPREP_STORAGE_OPTIONS"] = json.dumps(storage.current_options())
    return out


def with_storage_options(command):
    """``command`` with a ``--storage-options`` option that ``apply`` handles before it runs."""
    sig = inspect.signature(command, eval_str=True)
    param = inspect.Parameter("storage_options", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                              default=typer.Option(None, "--storage-options", help=HELP))

    @functools.wraps(command)
    def wrapper(*args, storage_options: Optional[str] = None, **kwargs):
        bound = sig.bind_partial(*args, **kwargs)
        values = apply(storage_options, dict(bound.arguments))
        return command(**values)

    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), param])
    wrapper.__annotations__ = {**{n: p.annotation for n, p in sig.parameters.items()},
                               "storage_options": Optional[str], "return": sig.return_annotation}
    return wrapper
