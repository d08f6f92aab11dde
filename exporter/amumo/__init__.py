"""Import of Amumo's published `exported_data` folders (Humer et al. 2024).

Each model there is a kN x kN cosine-similarity matrix; `convert` recovers the
embeddings (exporter.gram), verifies them against the published meta_info,
checks and repairs the row alignment, and writes the project's `embeddings`
dataset layout with thumbnails and per-item provenance.
"""
