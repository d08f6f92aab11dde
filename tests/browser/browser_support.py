"""Page helpers for the browser tests."""

from __future__ import annotations

from headless.harness import write_page


class FigurePage:
    """One page in a fresh context, with its problems recorded."""

    def __init__(self, browser, served, *, touch: bool = False):
        self.base_url, self.top = served
        options = {"viewport": {"width": 1100, "height": 900}}
        if touch:
            options.update(has_touch=True, is_mobile=True, viewport={"width": 800, "height": 900})
        self.context = browser.new_context(**options)
        # Browsers ask the host root for /favicon.ico on their own; that is not the figures' request.
        self.context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                m.type == "error" and self.errors.append(f"console: {m.text} at {m.location.get('url')}")
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        # An image whose load the preview cancels by moving on (ERR_ABORTED) is fine.
        self.page.on(
            "requestfailed",
            lambda r: (
                "ERR_ABORTED" not in (r.failure or "")
                and self.errors.append(f"requestfailed: {r.url} {r.failure}")
            ),
        )
        self.page.on(
            "response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}")
        )

        def on_dialog(dialog):
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)

    def open(self, name: str, figures: list[dict], *, theme: str = "light"):
        file = write_page(self.top, name, figures, theme=theme)
        self.page.goto(self.base_url + file)
        self.page.wait_for_function("() => window.__figures !== undefined")
        self.page.evaluate("() => window.__figures")
        for config in figures:
            sel = f"#{config['id']}"
            self.page.wait_for_selector(
                f"{sel} .figure-mount[data-rendered='true'], {sel} .fig-error", timeout=10000
            )
            failure = self.page.locator(f"{sel} .fig-error")
            assert failure.count() == 0, failure.first.text_content()
        return self.page

    def assert_clean(self):
        assert not self.errors, self.errors
        assert not self.dialogs, f"a dialog opened: {self.dialogs}"
