"""Boundaries: reading, repairing, simplifying, approximating and matching.

Plain functions over GeoDataFrames in WGS 84 (EPSG:4326). Nothing here imports Streamlit.
"""
