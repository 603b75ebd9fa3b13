"""One storage layer under every reader and writer: local paths and fsspec URLs alike.

Part of the core (imports nothing above ``corpusprep.errors`` and ``corpusprep.atomic``):

* ``url``: telling paths from URLs, absolute targets, secret-free display (``scrub``);
* ``fs``: reading (ranged), listing, identities (ETag/version/size + sha256), uploads and the
  conditional writes (``If-None-Match`` / ``If-Match``) the object-store commit protocol needs.
"""
from corpusprep.storage.fs import (StorageError, configure, create_exclusive, current_options, delete, exists,
                                   filesystem, get_file, glob, identity, identity_changed, info, isdir,
                                   iter_chunks, list_files, open_read, parse_options, put_file, read_bytes,
                                   replace_if_match, sha256, write_bytes)
from corpusprep.storage.local_copy import cache_root, local_copy
from corpusprep.storage.url import (absolute, add_secret, display, inside, is_url, join, name, parent, protocol,
                                    scrub, split_credentials)

__all__ = ["StorageError", "absolute", "add_secret", "cache_root", "local_copy", "configure", "create_exclusive", "current_options", "delete",
           "display", "exists", "filesystem", "get_file", "glob", "identity", "identity_changed", "info", "inside",
           "is_url", "isdir", "iter_chunks", "join", "list_files", "name", "open_read", "parent", "parse_options",
           "protocol", "put_file", "read_bytes", "replace_if_match", "scrub", "sha256", "split_credentials",
           "write_bytes"]
