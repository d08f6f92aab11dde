"""Model tests share the tiny open_clip fixtures of tests/conftest.py; keep torch to one thread."""

import torch

torch.set_num_threads(1)

from ..conftest import TINY_ARCH, TINY_CONFIG, TINY_SIGLIP  # noqa: E402,F401  (re-exported for sibling packages)
