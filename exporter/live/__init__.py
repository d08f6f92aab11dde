"""Encoders for the page: each exported model's towers as ONNX, its tokenizer, and what the
live figures need beside them (the dataset's embeddings, exact projection frames, input pixels).

    towers.py     torch module -> ONNX file (optional int8), checked against torch with onnxruntime
    tokenizers.py the tokenizer description the page's JavaScript implements
    bundle.py     one model's live/<slug>/live.json and its files; the manifest's "live" entry
    saliency.py   Grad-CAM maps (torch) precomputed at export
"""
