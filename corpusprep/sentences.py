"""Chinese sentence splitting, as used for `--layout uer-sentences` and the bert/albert processors."""
from __future__ import annotations

import re

# A sentence ends after 。！？!?；… (runs allowed) plus any closing quotes/brackets that follow,
# so 「他说：“好。”」 stays one sentence with its closing quote.
_END = r"[。！？!?；;…]+|\.{3,}"
_CLOSE = r"[”’\"'」』）)】》〕]*"
_SPLIT = re.compile(rf"((?:{_END}){_CLOSE})")


def split_sentences(text: str) -> list[str]:
    """Split a document into sentences; '\\n' always ends a sentence; empty pieces are dropped."""
    out: list[str] = []
    for para in text.split("\n"):
        parts = _SPLIT.split(para)
        buf = ""
        for i, part in enumerate(parts):
            buf += part
            if i % 2 == 1:  # a delimiter group closes the sentence
                if buf.strip():
                    out.append(buf.strip())
                buf = ""
        if buf.strip():
            out.append(buf.strip())
    return out
