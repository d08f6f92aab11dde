import numpy as np

from exporter.contract import decode_array
from exporter.synthetic import XSS_CAPTION
from tests.browser.export_reader import items, preview_state, result_file

N = 24


def cell_point(page, sel, r, c, cells):
    box = page.locator(f"{sel} .fig-matrix-overlay").bounding_box()
    return box["x"] + (c + 0.5) * box["width"] / cells, box["y"] + (r + 0.5) * box["height"] / cells


def test_heatmap_renders_and_hover_shows_both_items(figure_page, served, config):
    fp = figure_page()
    page = fp.open("heatmap-hover", [config("heatmap", "fig-h", models=["pocket:infonce"])])
    top = served[1]
    its = items(top)
    sim = result_file(top, "pocket:infonce", "similarity")
    matrix = decode_array(sim["matrix"])
    # Canvas has drawn colours (not blank) and quadrant labels are present.
    painted = page.evaluate("""() => { const c = document.querySelector('#fig-h .fig-matrix-base');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
        for (let i = 0; i < d.length; i += 4) s += d[i + 3]; return s / (d.length / 4); }""")
    assert painted > 250
    assert page.locator("#fig-h .fig-matrix-top span").all_text_contents() == ["image", "text"]
    assert page.locator("#fig-h .fig-badge-untrained").count() == 0
    # Image 5 against text 7 (column N + 7).
    page.mouse.move(*cell_point(page, "#fig-h", 5, N + 7, 2 * N))
    page.wait_for_function("() => !document.querySelector('#fig-h .fig-preview-empty').checkVisibility()")
    state = preview_state(page, "#fig-h")
    assert state[0]["modality"] == "image" and state[0]["index"] == 5
    assert state[0]["src"].endswith(its[5]["image"])
    assert state[1]["modality"] == "text" and state[1]["caption"] == its[7]["text"]
    score = float(page.locator("#fig-h .fig-preview-score").text_content().split()[-1])
    assert abs(score - matrix[5, N + 7]) < 1e-3 + sim["matrix"]["scale"]
    fp.assert_clean()


def test_heatmap_xss_caption_is_literal_text(figure_page, served, config):
    fp = figure_page()
    page = fp.open("heatmap-xss", [config("heatmap", "fig-x", models=["pocket:infonce"])])
    page.mouse.move(*cell_point(page, "#fig-x", 1, N + 1, 2 * N))
    page.wait_for_function("() => !document.querySelector('#fig-x .fig-preview-empty').checkVisibility()")
    state = preview_state(page, "#fig-x")
    assert state[1]["caption"] == XSS_CAPTION
    assert page.locator("#fig-x .fig-preview-note").text_content() == "a matched pair"
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    page.wait_for_timeout(100)
    assert fp.dialogs == []
    fp.assert_clean()


def test_heatmap_keyboard_moves_cell_cursor(figure_page, served, config):
    fp = figure_page()
    page = fp.open("heatmap-keys", [config("heatmap", "fig-k", models=["pocket:infonce"])])
    its = items(served[1])
    page.locator("#fig-k .fig-matrix-stack").focus()
    page.keyboard.press("ArrowRight")  # places the cursor at (0, 0)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    for _ in range(2):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowRight")  # +10 columns -> column 13
    state = preview_state(page, "#fig-k")
    assert (state[0]["modality"], state[0]["index"]) == ("image", 2)
    assert (state[1]["modality"], state[1]["index"]) == ("image", 13)
    assert state[1]["src"].endswith(its[13]["image"])
    page.keyboard.press("End")  # last column: text 23
    state = preview_state(page, "#fig-k")
    assert (state[1]["modality"], state[1]["caption"]) == ("text", its[23]["text"])
    fp.assert_clean()


def test_heatmap_tap_on_touch_screen(figure_page, served, config):
    fp = figure_page(touch=True)
    page = fp.open("heatmap-tap", [config("heatmap", "fig-t", models=["pocket:infonce"])])
    its = items(served[1])
    page.tap("#fig-t .fig-matrix-overlay", position=_relative(page, "#fig-t", N + 3, 4))
    state = preview_state(page, "#fig-t")
    assert (state[0]["modality"], state[0]["caption"]) == ("text", its[3]["text"])
    assert (state[1]["modality"], state[1]["index"]) == ("image", 4)
    fp.assert_clean()


def _relative(page, sel, r, c, cells=2 * N):
    box = page.locator(f"{sel} .fig-matrix-overlay").bounding_box()
    return {"x": (c + 0.5) * box["width"] / cells, "y": (r + 0.5) * box["height"] / cells}


def test_heatmap_cluster_sort_and_quadrant(figure_page, served, config):
    fp = figure_page()
    page = fp.open("heatmap-sort", [config("heatmap", "fig-s", models=["pocket:infonce"])])
    top = served[1]
    sim = result_file(top, "pocket:infonce", "similarity")
    order = sim["order"]
    assert page.locator("#fig-s .fig-clusters").is_hidden()
    page.get_by_role("button", name="Sort by clusters").click()
    assert page.get_by_role("button", name="Sort by clusters").get_attribute("aria-pressed") == "true"
    assert (
        page.locator("#fig-s .fig-cluster-list li")
        .all_text_contents()[0]
        .startswith(sim["clusters"][0]["label"])
    )
    page.mouse.move(*cell_point(page, "#fig-s", 2, N + 2, 2 * N))
    page.wait_for_function("() => !document.querySelector('#fig-s .fig-preview-empty').checkVisibility()")
    state = preview_state(page, "#fig-s")
    assert state[0]["index"] == order[2] and state[1]["index"] == order[2]
    # Only the text x image quadrant: N x N cells.
    page.locator("#fig-s select").select_option("1,0")
    assert page.locator("#fig-s .fig-matrix-top span").all_text_contents() == ["image"]
    page.mouse.move(*cell_point(page, "#fig-s", 0, 5, N))
    page.wait_for_timeout(50)
    page.mouse.move(*cell_point(page, "#fig-s", 1, 5, N))
    page.wait_for_function(
        f"() => document.querySelector('#fig-s .fig-preview-item').dataset.index == '{order[1]}'"
    )
    state = preview_state(page, "#fig-s")
    assert (state[0]["modality"], state[0]["index"]) == ("text", order[1])
    assert (state[1]["modality"], state[1]["index"]) == ("image", order[5])
    fp.assert_clean()


def test_heatmap_untrained_model_gets_no_second_badge(figure_page, config):
    # A heatmap's model is fixed at build time: the page's build-time note warns about
    # untrained weights (test_built_site checks it), so the figure adds no badge of its own.
    fp = figure_page()
    page = fp.open("heatmap-untrained", [config("heatmap", "fig-u", models=["pocket:untrained"])])
    assert page.locator("#fig-u .fig-header .fig-model").text_content() == "Model untrained"
    assert page.locator("#fig-u .fig-badge-untrained").count() == 0
    fp.assert_clean()


def test_heatmap_quantisation_matches_numpy(served):
    sim = result_file(served[1], "pocket:infonce", "similarity")
    m = decode_array(sim["matrix"])
    assert m.shape == (2 * N, 2 * N) and np.allclose(np.diag(m), m.max(), atol=2 * sim["matrix"]["scale"])
