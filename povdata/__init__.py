"""Poverty-reduction data: units, indicators, targets, validation, store and CLI.

Plain, typed functions over pandas DataFrames. Nothing here imports Streamlit.
"""
