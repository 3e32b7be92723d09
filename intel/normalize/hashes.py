"""Hash indicators: ``md5``, ``sha1`` and ``sha256`` file hashes and ``pdq`` image hashes.

md5 / sha1 / sha256 / pdq
    Lowercase hex of exactly 32 / 40 / 64 / 64 characters. 64 hex characters are detected as
    ``sha256``; ``pdq`` only when asked for explicitly.
"""

from __future__ import annotations

import re

from intel.normalize.errors import NormalizationError

_HEX_RE = re.compile(r"[0-9A-Fa-f]+")

_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}


def _norm_hash(v: str, kind: str) -> str:
    want = _HASH_LENGTHS[kind]
    if len(v) != want:
        raise NormalizationError(f"{kind} must be {want} hex characters, got {len(v)}")
    if _HEX_RE.fullmatch(v) is None:
        raise NormalizationError(f"{kind} must contain only hex characters (0-9, a-f)")
    return v.lower()
