from export_reader import gap_step_matrix, items, load, preview_state, result_file

from exporter.contract import decode_array

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
