"""Seeded captioned scenes: the pocket lab's data.

Each scene is a small RGB image (64 x 64 by default) of one to three flat
objects that vary in shape, colour, size and position, with a compositional
caption such as "a large red circle left of a small blue square".

Splits:
- ``train``: never contains any of the HELD_OUT_COMBOS (colour, shape) pairs,
  so a model trained on it has never seen, e.g., a red triangle.
- ``heldout``: drawn from its own seed stream and free to use every
  combination; the display pairs (what the ``shapes`` dataset shows) come from
  here, so retrieval on them measures generalisation, and scenes that contain
  a held-out combination measure compositional generalisation.

The largest object is the scene's main object: captions name it first and
its shape is the scene's label. A quarter of the training captions name only
the main object ("a circle", "a red circle", "a small red circle"), which is
what gives zero-shot prompts a meaning; held-out captions are always complete.

Every scene is drawn from its own generator seeded by (seed, split, index),
so ``generate_scenes(200)`` starts with exactly the scenes of
``generate_scenes(100)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from exporter.errors import ExportError

DEFAULT_SEED = 31415
IMAGE_SIZE = 64
# Draw at this multiple of the output size, then downsample: cheap anti-aliasing.
_SUPERSAMPLE = 4

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 38, 38),
    "green": (34, 160, 64),
    "blue": (40, 84, 220),
    "yellow": (232, 196, 24),
    "purple": (140, 62, 190),
    "orange": (240, 128, 24),
}
SIZES: dict[str, tuple[float, float]] = {"small": (5.5, 7.5), "large": (10.5, 13.0)}  # radius in px at 64 px

# (colour, shape) combinations that never appear in the training split: each
# shape and each of five colours is still seen in training, only not together.
HELD_OUT_COMBOS: frozenset[tuple[str, str]] = frozenset(
    {
        ("red", "triangle"),
        ("green", "circle"),
        ("blue", "diamond"),
        ("yellow", "cross"),
        ("purple", "square"),
    }
)

# Zero-shot classes are the shapes (the label of a scene is the shape of the
# object its caption names first). Templates: a bare label against a prefix.
# Captions always start with "a", so "a {}" moves the prompt toward the
# caption distribution; every template word is in the tokenizer's vocabulary
# (a template like "a picture of a {}" would turn "picture" into <unk>).
CLASSES: list[str] = list(SHAPES)
COLOUR_CLASSES: list[str] = list(COLOURS)
ZERO_SHOT_TEMPLATES: list[str] = ["{}", "a {}"]

SPLITS = {"train": 0, "heldout": 1}
SHORT_CAPTION_RATE = 0.25  # share of training captions that name only the main object
_OBJECT_COUNT_WEIGHTS = (0.3, 0.45, 0.25)  # P(1 object), P(2), P(3)
_BACKGROUND_RANGE = (228, 250)  # light grey, varied so the model cannot key on it

# Words used by captions and templates; the tokenizer's vocabulary is fitted to these.
_GRAMMAR_WORDS = (
    ["a", "and", ","]
    + list(SIZES)
    + list(COLOURS)
    + list(SHAPES)
    + ["left", "right", "of", "above", "below"]
    + ["at", "on", "in", "the", "top", "bottom", "middle"]
)


def caption_vocabulary() -> list[str]:
    """Every word a caption or a zero-shot template can contain, sorted."""
    return sorted(set(_GRAMMAR_WORDS))


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str  # "small" | "large"
    x: float  # centre, pixels at IMAGE_SIZE
    y: float
    radius: float

    def phrase(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    id: str
    image: Image.Image
    caption: str
    label: str  # shape of the main (largest) object, which the caption names first: the zero-shot class
    colour: str  # colour of that object
    objects: tuple[SceneObject, ...]
    split: str
    attributes: dict[str, str] = field(default_factory=dict)  # flat strings, e.g. for PairItem.extra


def _split_id(split: str) -> int:
    if split not in SPLITS:
        raise ExportError(f"unknown scene split {split!r}; use one of {sorted(SPLITS)}")
    return SPLITS[split]


def _place_objects(rng: np.random.Generator, count: int, allow_held_out: bool) -> list[SceneObject]:
    objects: list[SceneObject] = []
    colours = list(COLOURS)
    while len(objects) < count:
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        colour = colours[int(rng.integers(len(colours)))]
        if not allow_held_out and (colour, shape) in HELD_OUT_COMBOS:
            continue
        # Two objects with the same shape and colour would make captions ambiguous.
        if any(o.shape == shape and o.colour == colour for o in objects):
            continue
        size = "small" if rng.random() < 0.5 else "large"
        lo, hi = SIZES[size]
        radius = float(rng.uniform(lo, hi))
        for _ in range(60):  # rejection sampling for a free spot
            x = float(rng.uniform(radius + 1, IMAGE_SIZE - radius - 1))
            y = float(rng.uniform(radius + 1, IMAGE_SIZE - radius - 1))
            if all(math.hypot(x - o.x, y - o.y) > radius + o.radius + 2 for o in objects):
                objects.append(SceneObject(shape, colour, size, x, y, radius))
                break
        else:
            # No room for this object: draw a new one (a small one usually fits).
            continue
    return objects


def _place_phrase(obj: SceneObject) -> str:
    third = IMAGE_SIZE / 3
    horizontal = "left" if obj.x < third else ("right" if obj.x > 2 * third else "")
    vertical = "top" if obj.y < third else ("bottom" if obj.y > 2 * third else "")
    if horizontal and vertical:
        return f"at the {vertical} {horizontal}"
    if vertical:
        return f"at the {vertical}"
    if horizontal:
        return f"on the {horizontal}"
    return "in the middle"


def _relation(a: SceneObject, b: SceneObject) -> str:
    dx, dy = b.x - a.x, b.y - a.y
    if abs(dx) >= abs(dy):
        return "left of" if dx > 0 else "right of"
    return "above" if dy > 0 else "below"


def _caption(objects: list[SceneObject]) -> tuple[str, list[SceneObject]]:
    """Caption and the objects in the order the caption names them.

    The largest object is named first (the scene's main object, whose shape is
    its label): a visible cue, so "which shape is this picture of" has an answer.
    """
    by_size = sorted(objects, key=lambda o: -o.radius)
    if len(by_size) == 1:
        return f"{by_size[0].phrase()} {_place_phrase(by_size[0])}", by_size
    if len(by_size) == 2:
        a, b = by_size
        return f"{a.phrase()} {_relation(a, b)} {b.phrase()}", by_size
    first, second, third = (o.phrase() for o in by_size)
    return f"{first} , {second} and {third}", by_size


def _short_caption(main: SceneObject, rng: np.random.Generator) -> str:
    """A caption naming only the main object, at one of three levels of detail."""
    level = int(rng.integers(3))
    if level == 0:
        return f"a {main.shape}"
    if level == 1:
        return f"a {main.colour} {main.shape}"
    return main.phrase()


def _draw_shape(draw: ImageDraw.ImageDraw, obj: SceneObject, scale: int) -> None:
    cx, cy, r = obj.x * scale, obj.y * scale, obj.radius * scale
    fill = COLOURS[obj.colour]
    if obj.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif obj.shape == "square":
        s = r * 0.85  # visually similar area to the circle
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    elif obj.shape == "triangle":
        pts = [
            (cx + r * math.cos(a), cy - r * math.sin(a))
            for a in (math.pi / 2, 7 * math.pi / 6, 11 * math.pi / 6)
        ]
        draw.polygon(pts, fill=fill)
    elif obj.shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r * 0.8, cy), (cx, cy + r), (cx - r * 0.8, cy)], fill=fill)
    elif obj.shape == "cross":
        w = r * 0.36
        draw.rectangle((cx - r, cy - w, cx + r, cy + w), fill=fill)
        draw.rectangle((cx - w, cy - r, cx + w, cy + r), fill=fill)
    else:  # pragma: no cover - SHAPES is closed
        raise ExportError(f"unknown shape {obj.shape!r}")


def render(objects: tuple[SceneObject, ...] | list[SceneObject], background: int) -> Image.Image:
    """Render objects on a flat light-grey background (supersampled, then downsampled)."""
    big = IMAGE_SIZE * _SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), (background, background, background))
    draw = ImageDraw.Draw(canvas)
    for obj in objects:
        _draw_shape(draw, obj, _SUPERSAMPLE)
    return canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX)


def make_scene(index: int, *, split: str = "heldout", seed: int = DEFAULT_SEED) -> Scene:
    """The scene number ``index`` of a split; a pure function of (seed, split, index)."""
    rng = np.random.default_rng([int(seed), _split_id(split), int(index)])
    count = int(rng.choice(3, p=_OBJECT_COUNT_WEIGHTS)) + 1
    objects = _place_objects(rng, count, allow_held_out=split != "train")
    background = int(rng.integers(_BACKGROUND_RANGE[0], _BACKGROUND_RANGE[1] + 1))
    caption, ordered = _caption(objects)
    main = ordered[0]
    # Training captions are sometimes short and name only the main object, as alt text
    # often names only the salient thing; it is what gives zero-shot prompts such as
    # "a circle" a meaning. Held-out (display) captions are always complete.
    if split == "train" and rng.random() < SHORT_CAPTION_RATE:
        caption = _short_caption(main, rng)
    combos = sorted({(o.colour, o.shape) for o in objects} & HELD_OUT_COMBOS)
    attributes = {
        "colour": main.colour,
        "size": main.size,
        "n_objects": str(len(objects)),
        "held_out_combo": " ".join(f"{c}-{s}" for c, s in combos) if combos else "none",
    }
    return Scene(
        id=f"{split}-{index:05d}",
        image=render(ordered, background),
        caption=caption,
        label=main.shape,
        colour=main.colour,
        objects=tuple(ordered),
        split=split,
        attributes=attributes,
    )


def generate_scenes(n: int, *, split: str = "train", seed: int = DEFAULT_SEED, start: int = 0) -> list[Scene]:
    """``n`` scenes of a split, indices start .. start+n-1."""
    if n < 0:
        raise ExportError(f"scene count must be >= 0, got {n}")
    return [make_scene(i, split=split, seed=seed) for i in range(start, start + n)]


def display_pairs(n: int = 100, *, seed: int = DEFAULT_SEED) -> list[Scene]:
    """The held-out scenes the ``shapes`` dataset shows and pocket training tracks."""
    if n < 1:
        raise ExportError(f"shapes dataset: n must be >= 1, got {n}")
    return generate_scenes(n, split="heldout", seed=seed)


def contains_held_out_combo(scene: Scene) -> bool:
    return any((o.colour, o.shape) in HELD_OUT_COMBOS for o in scene.objects)
