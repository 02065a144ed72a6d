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

# Property tests: the same examples on every run ("repeatable", CI's and the default), so a landing is
# never refused by a random draw; HYPOTHESIS_PROFILE=explore draws new examples (run it when changing
# a parser, and add what it finds as an @example).
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("repeatable", derandomize=True, database=None)
_hyp_settings.register_profile("explore", derandomize=False)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
