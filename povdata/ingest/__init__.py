"""The indicator import path, one job per module (see :mod:`povdata.importer`)."""
