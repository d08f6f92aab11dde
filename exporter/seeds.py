"""The one default seed of the project (Amumo's 31415): every seeded default refers to it."""

DEFAULT_SEED = 31415
