"""Character classes shared by the regex ops and the vectorised batch checks.

One uint32 lookup table maps every code point to a bit set of classes, so a whole batch of
documents is classified with a single numpy gather (``table[codepoints]``).
"""
from __future__ import annotations

from functools import lru_cache

# Full-width forms U+FF01..U+FF5E map to ASCII by a fixed offset. These stay full-width because
# they are the normal Chinese punctuation marks.
KEEP_FULLWIDTH = "！（），：；？"
FULLWIDTH_MAP = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in KEEP_FULLWIDTH}
FULLWIDTH_MAP[0x3000] = 0x20  # ideographic space

# (first, last) inclusive code point ranges.
CONTROL_RANGES = ((0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F), (0x200B, 0x200F), (0x202A, 0x202E),
                  (0x2028, 0x2029), (0x2060, 0x2064), (0xFEFF, 0xFEFF), (0xD800, 0xDFFF))
EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x1FC00, 0x1FFFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x2300, 0x23FF),
                (0xFE0E, 0xFE0F), (0x20E3, 0x20E3), (0xE0020, 0xE007F))
CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
HALF_PUNCT = ",!?:;"

CONTROL, FULLWIDTH, EMOJI, WS_OTHER, CJK, WORD, HALF, SPACE, NEWLINE = (1 << i for i in range(9))
# ASCII characters without which an op cannot act (a superset test; the op then checks precisely).
TRIGGER_CHARS = {"html": "<&", "urls": ":w", "emails": "@", "mentions": "@", "retweets": "/",
                 "topics": "#", "emoticons": "["}
TRIGGER_BITS = {name: 1 << (9 + i) for i, name in enumerate(TRIGGER_CHARS)}


def ranges_class(ranges) -> str:
    """A regex character class body for ``ranges``."""
    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)


@lru_cache(maxsize=1)
def table():
    """uint32 class bits for every code point (numpy array, built once per process)."""
    import numpy as np

    t = np.zeros(0x110000, dtype=np.uint32)
    for ranges, bit in ((CONTROL_RANGES, CONTROL), (EMOJI_RANGES, EMOJI), (CJK_RANGES, CJK)):
        for a, b in ranges:
            t[a:b + 1] |= bit
    for cp in FULLWIDTH_MAP:
        t[cp] |= FULLWIDTH
    for cp in range(0x3001):  # every str.isspace() character is below U+3001
        if chr(cp).isspace() and cp not in (0x20, 0x0A):
            t[cp] |= WS_OTHER
    alnum = np.fromiter((cp for cp in range(0x10000) if chr(cp).isalnum()), dtype=np.int64)
    t[alnum] |= WORD
    t[np.nonzero(t & CJK)[0]] |= WORD
    for ch in HALF_PUNCT:
        t[ord(ch)] |= HALF
    t[0x20] |= SPACE
    for name, chars in TRIGGER_CHARS.items():
        for ch in chars:
            t[ord(ch)] |= TRIGGER_BITS[name]
    t[0x0A] |= NEWLINE
    return t
