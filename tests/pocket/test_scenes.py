from __future__ import annotations

import numpy as np

from exporter.pocket.scenes import (
    CLASSES,
    COLOURS,
    HELD_OUT_COMBOS,
    IMAGE_SIZE,
    SHAPES,
    ZERO_SHOT_TEMPLATES,
    contains_held_out_combo,
    display_pairs,
    generate_scenes,
    make_scene,
)
from exporter.pocket.tokenizer import scene_tokenizer, split_words


def test_same_seed_same_scenes_and_different_seed_differs():
    a = generate_scenes(20, split="train", seed=7)
    b = generate_scenes(20, split="train", seed=7)
    c = generate_scenes(20, split="train", seed=8)
    assert [s.caption for s in a] == [s.caption for s in b]
    assert all(x.image.tobytes() == y.image.tobytes() for x, y in zip(a, b, strict=True))
    assert [s.caption for s in a] != [s.caption for s in c]


def test_scene_is_a_function_of_its_index():
    longer = display_pairs(30)
    assert [s.caption for s in display_pairs(10)] == [s.caption for s in longer[:10]]
    assert make_scene(17, split="heldout").caption == longer[17].caption


def test_held_out_combos_never_in_train_but_present_in_heldout():
    train = generate_scenes(1500, split="train")
    seen = {(o.colour, o.shape) for s in train for o in s.objects}
    assert not seen & HELD_OUT_COMBOS
    # Every shape and every colour still occurs in training on its own.
    assert {s for _, s in seen} == set(SHAPES)
    assert {c for c, _ in seen} == set(COLOURS)
    heldout = display_pairs(300)
    assert any(contains_held_out_combo(s) for s in heldout)
    assert {s.attributes["held_out_combo"] != "none" for s in heldout} == {True, False}


def test_scene_fields_and_captions():
    scenes = display_pairs(60)
    tokenizer = scene_tokenizer()
    counts = set()
    for scene in scenes:
        assert scene.image.size == (IMAGE_SIZE, IMAGE_SIZE) and scene.image.mode == "RGB"
        assert scene.label in CLASSES and scene.label == scene.objects[0].shape
        assert scene.caption.startswith(f"a {scene.objects[0].size} {scene.colour} {scene.label}")
        assert all(w in tokenizer.ids for w in split_words(scene.caption))
        assert len(tokenizer.encode(scene.caption)) <= tokenizer.context_length
        counts.add(len(scene.objects))
        # Objects are drawn: the pixel at each object's centre is not the background grey.
        pixels = np.asarray(scene.image)
        for obj in scene.objects:
            r, g, b = pixels[int(obj.y), int(obj.x)].astype(int)
            assert max(r, g, b) - min(r, g, b) > 60
    assert counts == {1, 2, 3}


def test_relations_match_positions():
    for scene in generate_scenes(200, split="train", seed=3):
        if len(scene.objects) == 2:
            a, b = scene.objects
            if " left of " in scene.caption:
                assert a.x < b.x
            if " above " in scene.caption:
                assert a.y < b.y
        # The main (largest) object is named first; the label is its shape.
        radii = [o.radius for o in scene.objects]
        assert radii == sorted(radii, reverse=True)
        assert scene.label == scene.objects[0].shape


def test_short_training_captions_name_the_main_object_and_heldout_is_complete():
    train = generate_scenes(400, split="train", seed=5)
    short = [s for s in train if len(s.caption.split()) <= 4]
    assert 0.15 < len(short) / len(train) < 0.35
    assert {len(s.caption.split()) for s in short} == {2, 3, 4}
    for scene in short:
        assert scene.caption.endswith(scene.label) and scene.caption.startswith("a ")
    assert all(len(s.caption.split()) >= 6 for s in display_pairs(200, seed=5))


def test_templates_use_known_words():
    tokenizer = scene_tokenizer()
    for template in ZERO_SHOT_TEMPLATES:
        for cls in CLASSES:
            assert tokenizer.unk_id not in tokenizer.encode(template.format(cls))
