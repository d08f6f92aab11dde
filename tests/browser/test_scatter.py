from exporter.synthetic import XSS_CAPTION
from tests.browser.export_reader import items, preview_state, projection, projection_frame, scatter_screen

N = 24


def point_xy(page, sel, model, method, variant, index, served):
    box = page.locator(f"{sel} .fig-scatter-overlay").bounding_box()
    frame = projection_frame(served[1], model, method)
    screen = scatter_screen(projection(served[1], model, method, variant), box["width"], box["height"], frame=frame)
    return box, screen, (box["x"] + screen[index, 0], box["y"] + screen[index, 1])


def isolated_points(screen, radius=6.0):
    """Indices whose nearest other point is further than radius (hover must resolve them)."""
    import numpy as np

    d = np.linalg.norm(screen[:, None] - screen[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return [int(i) for i in np.where(d.min(1) > radius)[0]]


def test_scatter_hover_tap_keyboard(figure_page, served, config):
    fp = figure_page()
    page = fp.open("scatter", [config("scatter", "fig-p", models=["pocket:infonce"])])
    its = items(served[1])
    box, screen, _ = point_xy(page, "#fig-p", "pocket:infonce", "pca", "original", 0, served)
    candidates = isolated_points(screen)
    image_point = next(i for i in candidates if i < N)
    text_point = next(i for i in candidates if i >= N)
    page.mouse.move(box["x"] + screen[image_point, 0], box["y"] + screen[image_point, 1])
    page.wait_for_function("() => !document.querySelector('#fig-p .fig-preview-empty').checkVisibility()")
    state = preview_state(page, "#fig-p")
    assert (state[0]["modality"], state[0]["index"]) == ("image", image_point)
    assert state[0]["src"].endswith(its[image_point]["image"])
    assert (state[1]["modality"], state[1]["caption"]) == ("text", its[image_point]["text"])
    page.mouse.move(box["x"] + screen[text_point, 0], box["y"] + screen[text_point, 1])
    page.wait_for_function(
        f"() => document.querySelector('#fig-p .fig-preview-item').dataset.index == '{text_point - N}'"
    )
    state = preview_state(page, "#fig-p")
    assert (state[0]["modality"], state[0]["caption"]) == ("text", its[text_point - N]["text"])
    # Keyboard: first press selects item 0, then step and jump to the pair.
    page.locator("#fig-p .fig-scatter-stack").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.mouse.move(0, 0)
    state = preview_state(page, "#fig-p")
    assert (state[0]["modality"], state[0]["index"]) == ("text", 1)
    assert state[0]["caption"] == XSS_CAPTION
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    fp.assert_clean()


def test_scatter_tap_and_method_switch(figure_page, served, config):
    fp = figure_page(touch=True)
    page = fp.open(
        "scatter-touch", [config("scatter", "fig-q", models=["pocket:cyclip"], options={"method": "umap"})]
    )
    its = items(served[1])
    box, screen, _ = point_xy(page, "#fig-q", "pocket:cyclip", "umap", "original", 0, served)
    target = isolated_points(screen)[0]
    page.tap(
        "#fig-q .fig-scatter-overlay", position={"x": float(screen[target, 0]), "y": float(screen[target, 1])}
    )
    state = preview_state(page, "#fig-q")
    assert state[0]["index"] == target % N
    assert state[0]["modality"] == ("image" if target < N else "text")
    # Switch to the closed variant of PCA; after the animation the new layout resolves taps.
    page.locator("#fig-q select").nth(0).select_option("pca")
    page.locator("#fig-q select").nth(1).select_option("closed")
    page.wait_for_timeout(500)
    box, screen, _ = point_xy(page, "#fig-q", "pocket:cyclip", "pca", "closed", 0, served)
    target = isolated_points(screen)[-1]
    page.tap(
        "#fig-q .fig-scatter-overlay", position={"x": float(screen[target, 0]), "y": float(screen[target, 1])}
    )
    state = preview_state(page, "#fig-q")
    assert state[0]["index"] == target % N
    if state[0]["modality"] == "image":
        assert state[0]["src"].endswith(its[target % N]["image"])
    assert page.locator("#fig-q .fig-axis-x").text_content() == "PC 1"
    fp.assert_clean()


def test_scatter_follows_theme(figure_page, config):
    fp = figure_page()
    page = fp.open("scatter-theme", [config("scatter", "fig-r", models=["pocket:infonce"])])
    light = page.locator("#fig-r .fig-swatch").first.evaluate("n => getComputedStyle(n).backgroundColor")
    page.evaluate(
        "() => { document.documentElement.dataset.theme = 'dark'; document.dispatchEvent(new CustomEvent('themechange')); }"
    )
    dark = page.locator("#fig-r .fig-swatch").first.evaluate("n => getComputedStyle(n).backgroundColor")
    assert light == "rgb(213, 94, 0)" and dark == "rgb(240, 163, 94)"
    fp.assert_clean()
