"""Page scripts (layout and widgets only) and the shared UI helpers in :mod:`pages.common`."""
