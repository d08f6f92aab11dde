from exporter.contract import decode_array
from tests.browser.export_reader import gap_step_matrix, items, load, preview_state, result_file

N = 24


def cell_point(page, sel, r, c, cells):
    box = page.locator(f"{sel} .fig-matrix-overlay").bounding_box()
    return box["x"] + (c + 0.5) * box["width"] / cells, box["y"] + (r + 0.5) * box["height"] / cells


def overlay_alpha(page, sel, canvas):
    return page.evaluate(
        """([sel, canvas]) => { const c = document.querySelector(`${sel} ${canvas}`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
        for (let i = 3; i < d.length; i += 4) s += d[i]; return s; }""",
        [sel, canvas],
    )


def test_explorer_linking_slider_and_model_switch(figure_page, served, config):
    fp = figure_page()
    page = fp.open(
        "explorer",
        [config("explorer", "fig-e", models=["pocket:infonce", "pocket:untrained", "pocket:cyclip"])],
    )
    top = served[1]
    its = items(top)
    # Hovering a cell highlights both items in the scatter (rings on its overlay).
    before = overlay_alpha(page, "#fig-e", ".fig-scatter-overlay")
    page.mouse.move(*cell_point(page, "#fig-e", 3, N + 9, 2 * N))
    page.wait_for_function("() => !document.querySelector('#fig-e .fig-preview-empty').checkVisibility()")
    page.wait_for_timeout(50)
    assert overlay_alpha(page, "#fig-e", ".fig-scatter-overlay") > before
    state = preview_state(page, "#fig-e")
    assert (state[0]["index"], state[1]["caption"]) == (3, its[9]["text"])

    # Slider: step to the closed end; status reports that step's gap and loss; the matrix is that step's.
    gap = result_file(top, "pocket:infonce", "gap")
    slider = page.locator("#fig-e input[type=range]")
    slider.focus()
    page.keyboard.press("End")
    last = gap["steps"][-1]
    page.wait_for_selector(f"#fig-e .figure-mount[data-step='{len(gap['steps']) - 1}']")
    status = page.locator("#fig-e .fig-status").text_content()
    assert f"{last['centroid_distance']:.3f}" in status
    assert f"{(last['loss_i2t'] + last['loss_t2i']) / 2:.3f}" in status
    assert page.locator("#fig-e .fig-range-value").text_content() == "100% closed"
    page.mouse.move(*cell_point(page, "#fig-e", 4, N + 4, 2 * N))
    page.wait_for_function("() => document.querySelector('#fig-e .fig-preview-item').dataset.index == '4'")
    last_matrix = gap_step_matrix(top, last)
    closed = decode_array(last_matrix)
    score = float(page.locator("#fig-e .fig-preview-score").text_content().split()[-1])
    assert abs(score - closed[4, N + 4]) <= 1e-3 + last_matrix["scale"]

    # Switch model: the badge appears and the matrix is the other model's.
    page.locator("#fig-e select").first.select_option("pocket:untrained")
    page.wait_for_function(
        "() => document.querySelector('#fig-e').querySelector('.figure-mount, .fig') && document.querySelector('#fig-e .figure-mount').dataset.model == 'pocket:untrained'"
    )
    assert page.locator("#fig-e .fig-badge-untrained").is_visible()
    other = result_file(top, "pocket:untrained", "gap")
    step = gap_step_matrix(top, other["steps"][-1])
    m = decode_array(step)
    page.mouse.move(*cell_point(page, "#fig-e", 6, N + 2, 2 * N))
    page.wait_for_function("() => document.querySelector('#fig-e .fig-preview-item').dataset.index == '6'")
    score = float(page.locator("#fig-e .fig-preview-score").text_content().split()[-1])
    assert abs(score - m[6, N + 2]) <= 1e-3 + step["scale"]
    fp.assert_clean()


def test_explorer_dataset_switch_and_point_hover(figure_page, served, config):
    fp = figure_page()
    page = fp.open("explorer-ds", [config("explorer", "fig-d", models=["pocket:infonce", "pocket:cyclip"])])
    top = served[1]
    datasets = {d["name"]: d for d in load(top, "manifest.json")["datasets"]}
    about = page.locator("#fig-d .fig-dataset-about")
    assert (
        about.text_content()
        == datasets[page.locator("#fig-d .figure-mount").get_attribute("data-dataset")]["description"]
    )
    page.locator("#fig-d select").nth(1).select_option("samples")
    page.wait_for_function(
        "() => document.querySelector('#fig-d .figure-mount').dataset.dataset == 'samples'"
    )
    # The shown dataset's own description follows the switch.
    assert len({d["description"] for d in datasets.values()}) == len(datasets)
    assert about.text_content() == datasets["samples"]["description"]
    n = datasets["samples"]["n"]
    small = items(top, "samples")
    # The matrix now has 2n rows: the last cell is text n-1 against text n-1.
    page.mouse.move(*cell_point(page, "#fig-d", 2 * n - 1, 2 * n - 1, 2 * n))
    page.wait_for_function("() => !document.querySelector('#fig-d .fig-preview-empty').checkVisibility()")
    state = preview_state(page, "#fig-d")
    assert (state[0]["modality"], state[0]["caption"]) == ("text", small[n - 1]["text"])
    # Keyboard on the scatter highlights rows in the matrix and shows the pair's similarity.
    before = overlay_alpha(page, "#fig-d", ".fig-matrix-overlay")
    page.mouse.move(0, 0)
    page.locator("#fig-d .fig-scatter-stack").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(50)
    state = preview_state(page, "#fig-d")
    assert (state[0]["modality"], state[0]["index"]) == ("image", 0)
    assert state[0]["src"].endswith(small[0]["image"])
    assert "pair similarity" in page.locator("#fig-d .fig-preview-score").text_content()
    assert overlay_alpha(page, "#fig-d", ".fig-matrix-overlay") != before
    fp.assert_clean()


def test_a_point_that_does_not_move_in_embedding_space_does_not_move_on_screen(figure_page, served, config):
    """The exporter maps every gap step into one fitted frame, so an embedding that stays put has the
    same coordinates at every step (tests/analyses/test_projection.py); here one point of the served
    steps is held still and the explorer must keep it on the same pixel while the slider moves."""
    import json

    import numpy as np

    from exporter import payloads
    from exporter.contract import write_json_atomic
    from exporter.synthetic import write_fake_export
    from tests.browser.export_reader import scatter_screen

    top = served[1]
    folder = top / "data-static"
    write_fake_export(folder, N, models=("pocket:infonce",), datasets=("shapes",))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    proj_path = folder / manifest["results"][0]["files"]["projections"]
    proj = json.loads(proj_path.read_text(encoding="utf-8"))
    steps = {m: [decode_array(a) for a in arrays] for m, arrays in proj["points"].items()}
    pca = steps["pca"]
    frame = np.concatenate(pca)
    size = 300.0  # any square box: only distances relative to the bounds matter for the choice
    screens = [scatter_screen(p, size, size, frame=frame) for p in pca]
    gaps = [np.linalg.norm(s[:, None] - s[None], axis=-1) + np.eye(2 * N) * 1e9 for s in screens]
    # The most isolated point at every step, so hovering its pixel resolves to it alone.
    still = int(np.argmax(np.min([g.min(axis=1) for g in gaps], axis=0)))
    assert min(g[still].min() for g in gaps) > 3
    for p in pca[1:]:
        p[still] = pca[0][still]
    write_json_atomic(proj_path, payloads.projections_payload(steps, proj["fractions"]))

    fp = figure_page()
    page = fp.open(
        "explorer-still",
        [
            config(
                "explorer", "fig-s", models=["pocket:infonce"], options={"method": "pca"}, data="data-static"
            )
        ],
    )
    box = page.locator("#fig-s .fig-scatter-overlay").bounding_box()
    fixed = scatter_screen(pca[0], box["width"], box["height"], frame=np.concatenate(pca))[still]
    # Fitting the view to each step's own points (as before) would have moved it by more than the hover reach.
    refit = scatter_screen(pca[-1], box["width"], box["height"])[still]
    assert np.linalg.norm(refit - fixed) > 14
    slider = page.locator("#fig-s input[type=range]")
    for key in ("Home", "ArrowRight", "End"):
        slider.focus()
        page.keyboard.press(key)
        page.wait_for_timeout(450)  # the view animates for 350 ms
        page.mouse.move(0, 0)
        page.mouse.move(box["x"] + fixed[0], box["y"] + fixed[1])
        page.wait_for_function(
            f"() => document.querySelector('#fig-s .fig-preview-item')?.dataset.index == '{still % N}'"
        )
        state = preview_state(page, "#fig-s")
        assert (state[0]["modality"], state[0]["index"]) == (("image", "text")[still // N], still % N)
    fp.assert_clean()


def test_tsne_does_not_move_with_the_slider_and_says_why(figure_page, served, config):
    fp = figure_page()
    page = fp.open(
        "explorer-tsne", [config("explorer", "fig-t", models=["pocket:infonce"], options={"method": "tsne"})]
    )
    manifest = load(served[1], "manifest.json")
    note = next(m["note"] for m in manifest["registry"]["projections"] if m["key"] == "tsne")
    assert note and page.locator("#fig-t .fig-note", has_text=note).count() == 1
    assert len(result_file(served[1], "pocket:infonce", "projections")["points"]["tsne"]) == 1
    fp.assert_clean()
