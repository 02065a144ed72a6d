"""Suite-wide: the app and the CLI read the data store from ``POVDASH_DATA_DIR``; point it at an
empty temporary folder so a developer's own ``var/`` never changes what a test sees."""
from __future__ import annotations

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="povdash-test-data-")
os.environ["POVDASH_DATA_DIR"] = _DATA_DIR
