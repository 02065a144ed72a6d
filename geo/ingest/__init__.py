"""The boundary import path, one job per module (see :mod:`geo.importing`)."""
