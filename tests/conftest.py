"""Suite-wide: the app and the CLI read the data store from ``POVDASH_DATA_DIR``; point it at an
empty temporary folder so a developer's own ``var/`` never changes what a test sees."""
from __future__ import annotations

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="povdash-test-data-")
os.environ["POVDASH_DATA_DIR"] = _DATA_DIR

# Password hashing at argon2's production cost (64 MiB, 3 passes) takes ~0.1 s a hash: tests that create
# many users use a cheap argon2id instead (same code path; servers started by browser tests keep the real cost).
import povdata.auth as _auth  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

_auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
