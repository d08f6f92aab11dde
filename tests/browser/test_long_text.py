"""Untrusted text in previews and labels: a very long caption stays clamped (full text on demand),
and a quote in a class label shows as a quote, not as '&quot;'.

The served fake export is shared, so each test rewrites the file it needs on its way to the browser.
"""

import json

from tests.browser.test_heatmap import N, cell_point

LONG = ("a long caption " + "with many words " * 700)[:9991] + " and end."  # 10,000 characters
QUOTED = 'the "quoted" class'


def _rewrite(context, pattern: str, change) -> None:
    def handle(route):
        response = route.fetch()
        payload = change(json.loads(response.text()))
        route.fulfill(response=response, body=json.dumps(payload))

    context.route(pattern, handle)


def test_a_10000_character_caption_is_clamped_with_the_full_text_on_demand(figure_page, config):
    fp = figure_page()
    assert len(LONG) == 10_000

    def lengthen(items):
        items["items"][7]["text"] = LONG
        return items

    _rewrite(fp.context, "**/items.json*", lengthen)
    page = fp.open("long-caption", [config("heatmap", "fig-l", models=["pocket:infonce"])])
    figure = page.locator("#fig-l")
    height_before = figure.bounding_box()["height"]
    # A click pins the cell, so the preview stays while the pointer goes to it.
    page.mouse.click(*cell_point(page, "#fig-l", 5, N + 7, 2 * N))
    page.wait_for_function("() => !document.querySelector('#fig-l .fig-preview-empty').checkVisibility()")
    text_item = page.locator("#fig-l .fig-preview-item").nth(1)
    shown = text_item.locator(".fig-preview-caption").text_content()
    assert shown.endswith("…") and len(shown) <= 281 and LONG.startswith(shown[:-1])
    details = text_item.locator("details.fig-preview-full")
    assert details.is_visible() and details.get_attribute("open") is None
    assert "10,000 characters" in details.locator("summary").text_content()
    assert details.locator(".fig-preview-fulltext").text_content() == LONG
    # Hovering does not stretch the figure (it did by about 7,700 px).
    assert figure.bounding_box()["height"] < height_before + 400
    # Opened, the full text scrolls inside a box of bounded height (the pinned cell stays shown).
    details.locator("summary").click()
    assert details.get_attribute("open") is not None
    assert details.locator(".fig-preview-fulltext").bounding_box()["height"] < 400
    # A short caption shows whole, without the box.
    page.mouse.click(*cell_point(page, "#fig-l", 5, N + 6, 2 * N))
    page.wait_for_function(
        "() => document.querySelectorAll('#fig-l .fig-preview-item')[1].dataset.index === '6'"
    )
    assert not text_item.locator("details.fig-preview-full").is_visible()
    fp.assert_clean()


def test_a_quote_in_a_class_label_is_shown_as_a_quote(figure_page, config):
    fp = figure_page()

    def quote_first_class(payload):
        payload["classes"][0] = QUOTED
        return payload

    _rewrite(fp.context, "**/zeroshot.json*", quote_first_class)
    _rewrite(
        fp.context, "**/items.json*", lambda items: {**items, "classes": [QUOTED, *items["classes"][1:]]}
    )
    page = fp.open("quoted-class", [config("zeroshot", "fig-q", models=["pocket:infonce"])])
    ticks = page.evaluate(
        "() => [...document.querySelectorAll('#fig-q .xtick text')].map((t) => t.textContent)"
    )
    assert QUOTED in ticks, ticks
    assert not any("&quot;" in tick for tick in ticks)
    fp.assert_clean()
