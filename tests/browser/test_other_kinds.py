import numpy as np

from exporter.contract import decode_array
from exporter.synthetic import XSS_CAPTION
from tests.browser.export_reader import gap_step_matrix, items, load, preview_state, result_file

N = 24
MODELS = ["pocket:infonce", "pocket:untrained", "pocket:cyclip"]


def cell_point(page, overlay, r, c, cells):
    box = overlay.bounding_box()
    return box["x"] + (c + 0.5) * box["width"] / cells, box["y"] + (r + 0.5) * box["height"] / cells


def test_compare_synchronised_crosshair(figure_page, served, config):
    fp = figure_page()
    page = fp.open("compare", [config("compare", "fig-c", models=MODELS)])
    top = served[1]
    manifest = load(top, "manifest.json")
    cells = page.locator("#fig-c .fig-compare-cell")
    assert cells.count() == 3
    assert cells.nth(1).locator(".fig-badge-untrained").is_visible()
    assert cells.nth(0).locator(".fig-badge-untrained").count() == 0
    for i, name in enumerate(MODELS):
        metrics = next(
            r["metrics"] for r in manifest["results"] if r["model"] == name and r["dataset"] == "shapes"
        )
        text = cells.nth(i).locator(".fig-compare-gap").text_content()
        assert (
            text
            == f"gap {metrics['centroid_distance']:.3f} · loss {(metrics['loss_i2t'] + metrics['loss_t2i']) / 2:.3f}"
        )
    page.mouse.move(*cell_point(page, cells.nth(0).locator(".fig-matrix-overlay"), 2, N + 11, 2 * N))
    page.wait_for_function("() => document.querySelector('#fig-c .fig-compare-readout').textContent !== ''")
    page.wait_for_timeout(50)
    for i, name in enumerate(MODELS):
        sim = result_file(top, name, "similarity")
        value = decode_array(sim["matrix"])[2, N + 11]
        got = float(cells.nth(i).locator(".fig-compare-readout").text_content().split()[-1])
        assert abs(got - value) <= 1e-3 + sim["matrix"]["scale"]
    # The other panels draw the crosshair on their overlays.
    drawn = page.evaluate("""() => [...document.querySelectorAll('#fig-c .fig-matrix-overlay')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
        for (let i = 3; i < d.length; i += 4) s += d[i] > 0 ? 1 : 0; return s; })""")
    assert all(count > 200 for count in drawn), drawn
    # Keyboard on the third panel.
    cells.nth(2).locator(".fig-matrix-stack").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    state = preview_state(page, "#fig-c")
    assert (state[0]["index"], state[1]["index"]) == (1, 0)
    assert "Model cyclip" in page.locator("#fig-c .fig-preview-score").text_content()
    fp.assert_clean()


def test_compare_tap_and_closed_variant(figure_page, served, config):
    fp = figure_page(touch=True)
    page = fp.open(
        "compare-touch",
        [
            config(
                "compare",
                "fig-ct",
                models=MODELS[:2],
                options={"variant": "closed", "quadrant": "image-text"},
            )
        ],
    )
    top = served[1]
    overlay = page.locator("#fig-ct .fig-compare-cell").nth(1).locator(".fig-matrix-overlay")
    box = overlay.bounding_box()
    page.tap(
        "#fig-ct .fig-compare-cell:nth-child(2) .fig-matrix-overlay",
        position={"x": 3.5 * box["width"] / N, "y": 5.5 * box["height"] / N},
    )
    state = preview_state(page, "#fig-ct")
    assert (state[0]["modality"], state[0]["index"], state[1]["modality"], state[1]["index"]) == (
        "image",
        5,
        "text",
        3,
    )
    gap = result_file(top, MODELS[0], "gap")
    last = gap_step_matrix(top, gap["steps"][-1])
    closed = decode_array(last)
    got = float(page.locator("#fig-ct .fig-compare-readout").first.text_content().split()[-1])
    assert abs(got - closed[5, N + 3]) <= 1e-3 + last["scale"]
    fp.assert_clean()


def test_metrics_table_sorts(figure_page, served, config):
    fp = figure_page()
    page = fp.open("metrics", [config("metrics", "fig-m", models=MODELS)])
    manifest = load(served[1], "manifest.json")
    gaps = {
        r["model"]: r["metrics"]["centroid_distance"] for r in manifest["results"] if r["dataset"] == "shapes"
    }
    rows = lambda: page.locator("#fig-m tbody tr").evaluate_all("rs => rs.map((r) => r.dataset.model)")  # noqa: E731
    assert rows() == MODELS
    header = page.locator("#fig-m thead th").nth(1)
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert rows() == sorted(MODELS, key=gaps.get)
    header.get_by_role("button").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    assert rows() == sorted(MODELS, key=gaps.get, reverse=True)
    first = page.locator("#fig-m tbody tr").first
    assert first.locator("td").first.locator("span").first.text_content() == f"{max(gaps.values()):.3f}"
    assert page.locator("#fig-m tbody tr[data-model='pocket:untrained'] .fig-badge-untrained").is_visible()
    fp.assert_clean()


def test_metrics_table_shows_intervals_and_what_it_covers(figure_page, served, config):
    fp = figure_page()
    page = fp.open("metrics", [config("metrics", "fig-m", models=MODELS, options={"columns": "centroid_distance closed:r1_i2t"})])
    manifest = load(served[1], "manifest.json")
    for name in MODELS:
        result = next(r for r in manifest["results"] if r["model"] == name and r["dataset"] == "shapes")
        cells = page.locator(f"#fig-m tbody tr[data-model='{name}'] td")
        statistics = result["statistics"]
        # toFixed rounds halves up, Python's format to even: compare the numbers, to the digit.
        shown = cells.nth(0).locator(".fig-interval").text_content().split("–")
        assert np.allclose([float(v) for v in shown], statistics["intervals"]["centroid_distance"], atol=5e-4 + 1e-9)
        shown = cells.nth(1).locator(".fig-interval").text_content().split("–")
        assert np.allclose([float(v) for v in shown], statistics["closed_intervals"]["recall_i2t"]["r1"], atol=5e-3 + 1e-9)
    note = page.locator("#fig-m .fig-note").text_content()
    assert f"all {statistics['n']} pairs of shapes" in note
    assert f"{round(statistics['confidence'] * 100)}% bootstrap intervals over {statistics['resamples']:,} resamples" in note
    assert "seeded sample" not in note  # the figures show every pair here
    # The default columns hold a loss (an average of two directions): named as having no interval.
    page = fp.open("metrics-default", [config("metrics", "fig-d", models=MODELS)])
    default_note = page.locator("#fig-d .fig-note").text_content()
    assert "No interval for separability, loss and loss (closed):" in default_note
    # The noise remark appears exactly when a shown value lies below its interval (a gap near zero).
    shown = [("intervals", k) for k in ("centroid_distance", "relative_gap", "pair_cosine")]
    shown += [("intervals", ("recall_i2t", "r1")), ("intervals", ("recall_t2i", "r1"))]
    shown += [("closed_intervals", "centroid_distance")]

    def is_below(result, source, key):
        metrics = result["metrics"]["closed"] if source == "closed_intervals" else result["metrics"]
        interval = result["statistics"][source]
        value, low = (metrics[key[0]][key[1]], interval[key[0]][key[1]][0]) if isinstance(key, tuple) else (metrics[key], interval[key][0])
        return value < low

    results = [r for r in manifest["results"] if r["dataset"] == "shapes" and r["model"] in MODELS]
    below = any(is_below(result, source, key) for result in results for source, key in shown)
    assert ("An interval above its value" in default_note) == below
    assert page.locator("#fig-d tbody tr").first.locator("td").nth(4).locator(".fig-interval").count() == 0
    fp.assert_clean()


def test_retrieval_query_keyboard_and_model_switch(figure_page, served, config):
    fp = figure_page()
    page = fp.open("retrieval", [config("retrieval", "fig-r", models=MODELS)])
    top = served[1]
    its = items(top)
    page.locator("#fig-r select").nth(1).select_option("t2i")
    page.locator("#fig-r select").nth(2).select_option("1")
    assert page.locator("#fig-r .fig-query-item .fig-preview-caption").text_content() == XSS_CAPTION
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0

    def check(model, direction, q):
        ret = result_file(top, model, "retrieval")
        idx = decode_array(ret[direction]["indices"])[q]
        scores = decode_array(ret[direction]["scores"])[q]
        hits = page.locator("#fig-r .fig-retrieval-hit")
        assert hits.count() == ret["k"]
        assert [int(v) for v in hits.evaluate_all("hs => hs.map((h) => h.dataset.index)")] == idx.tolist()
        got = [float(s) for s in page.locator("#fig-r .fig-retrieval-score").all_text_contents()]
        assert np.allclose(got, scores, atol=1e-3 + ret[direction]["scores"]["scale"])
        r = ret["recall"][direction]
        assert (
            f"R@1 {r['r1']:.2f} · R@5 {r['r5']:.2f} · R@10 {r['r10']:.2f}"
            in page.locator("#fig-r .fig-recall").text_content()
        )

    check("pocket:infonce", "t2i", 1)
    page.get_by_role("button", name="next query").focus()
    page.keyboard.press("Enter")
    check("pocket:infonce", "t2i", 2)
    first_hit_img = page.locator("#fig-r .fig-retrieval-hit img").first.get_attribute("src")
    first_index = int(page.locator("#fig-r .fig-retrieval-hit").first.get_attribute("data-index"))
    assert first_hit_img.endswith(its[first_index]["image"])
    page.locator("#fig-r select").first.select_option("pocket:cyclip")
    page.wait_for_function(
        "() => document.querySelector('#fig-r .figure-mount').dataset.model === 'pocket:cyclip'"
    )
    check("pocket:cyclip", "t2i", 2)
    fp.assert_clean()


def test_retrieval_tap(figure_page, served, config):
    fp = figure_page(touch=True)
    page = fp.open("retrieval-touch", [config("retrieval", "fig-rt", models=["pocket:infonce"])])
    page.get_by_role("button", name="next query").tap()
    assert page.locator("#fig-rt select").nth(1).input_value() == "1"
    assert (
        page.locator("#fig-rt .fig-query-item img")
        .get_attribute("src")
        .endswith(items(served[1])[1]["image"])
    )
    fp.assert_clean()


def test_landscape_traces_and_table(figure_page, served, config):
    fp = figure_page()
    page = fp.open("landscape", [config("landscape", "fig-l", models=MODELS[:2])])
    top = served[1]
    gap = result_file(top, MODELS[0], "gap")
    data = page.evaluate(
        "() => document.querySelector('#fig-l .fig-plot').data.map((t) => ({x: Array.from(t.x), y: Array.from(t.y)}))"
    )
    assert len(data) == 4
    assert np.allclose(data[0]["x"], gap["landscape"]["distance"]) and np.allclose(
        data[0]["y"], gap["landscape"]["loss"]
    )
    assert np.allclose(
        data[1]["x"], [gap["landscape"]["original"]["distance"], gap["landscape"]["closed"]["distance"]]
    )
    page.locator("#fig-l select").first.select_option("loss_i2t")
    page.locator("#fig-l select").nth(1).select_option("delta")
    data = page.evaluate(
        "() => document.querySelector('#fig-l .fig-plot').data.map((t) => ({x: Array.from(t.x), y: Array.from(t.y)}))"
    )
    assert np.allclose(data[0]["x"], gap["landscape"]["delta"]) and np.allclose(
        data[0]["y"], gap["landscape"]["loss_i2t"]
    )
    assert page.locator("#fig-l .fig-legend-item .fig-badge-untrained").count() == 1
    row = page.locator("#fig-l tbody tr").first.locator("td").all_text_contents()
    assert row[1] == f"{gap['landscape']['original']['loss']:.3f}"
    assert "<" not in page.evaluate(
        "() => JSON.stringify(document.querySelector('#fig-l .fig-plot').data.map((t) => t.name || ''))"
    )
    fp.assert_clean()


def test_training_slider_play_and_hover(figure_page, served, config):
    fp = figure_page()
    page = fp.open(
        "training", [config("training", "fig-t", models=["pocket:infonce"], options={"interval": 120})]
    )
    training = load(served[1], "training/pocket-infonce.json")
    last = training["snapshots"][-1]
    page.locator("#fig-t input[type=range]").focus()
    page.keyboard.press("End")
    assert (
        page.locator("#fig-t .fig-status")
        .text_content()
        .startswith(f"step {last['step']} · gap (centroid distance) {last['centroid_distance']:.3f}")
    )
    marker = page.evaluate("() => document.querySelector('#fig-t .fig-plot').data[2].x[0]")
    assert marker == last["step"]
    page.keyboard.press("Home")
    assert page.locator("#fig-t .figure-mount").get_attribute("data-step") == "0"
    play = page.get_by_role("button", name="Play")
    play.click()
    assert page.locator("#fig-t .fig-play").get_attribute("aria-pressed") == "true"
    page.wait_for_function(
        f"() => document.querySelector('#fig-t .figure-mount').dataset.step == '{last['step']}'", timeout=5000
    )
    page.wait_for_function(
        "() => document.querySelector('#fig-t .fig-play').getAttribute('aria-pressed') === 'false'",
        timeout=2000,
    )
    page.locator("#fig-t .fig-scatter-stack").focus()
    page.keyboard.press("ArrowRight")
    state = preview_state(page, "#fig-t")
    assert (state[0]["modality"], state[0]["index"]) == ("image", 0)
    fp.assert_clean()


def test_zeroshot_bars_follow_the_chosen_image(figure_page, served, config):
    fp = figure_page()
    page = fp.open("zeroshot", [config("zeroshot", "fig-z", models=["pocket:infonce"])])
    zs = result_file(served[1], "pocket:infonce", "zeroshot")
    page.locator("#fig-z select").select_option("3")
    for t, run in enumerate(zs["runs"]):
        probs = decode_array(run["probs"])[3]
        bars = page.evaluate(f"() => Array.from(document.querySelector('#fig-z .fig-plot').data[{t}].y)")
        assert np.allclose(bars, probs, atol=1e-4)
        verdict = page.locator("#fig-z .fig-zeroshot-verdicts li").nth(t).text_content()
        assert verdict.startswith(f"“{run['template']}”: {zs['classes'][int(np.argmax(probs))]}")
    page.get_by_role("button", name="next image").click()
    assert page.locator("#fig-z select").input_value() == "4"
    fp.assert_clean()
