// Theme: follow the system (prefers-color-scheme) until the reader picks one with the toggle.
// Loaded as a classic, blocking script in <head> so a saved theme applies before the first paint.
// The toggle sets document.documentElement.dataset.theme ("light" | "dark"), saves the choice in
// localStorage and dispatches a "themechange" event on document so figures can re-colour.
(function () {
  "use strict";
  var KEY = "latent-article-theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function saved() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (error) {
      return null; // storage blocked (private mode, file://): the toggle still works for this visit
    }
  }

  function current() {
    return root.dataset.theme || (media && media.matches ? "dark" : "light");
  }

  function notify() {
    document.dispatchEvent(new CustomEvent("themechange", { detail: { theme: current() } }));
  }

  var initial = saved();
  if (initial) root.dataset.theme = initial;

  function sync(button) {
    var dark = current() === "dark";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.title = dark ? "Switch to the light theme" : "Switch to the dark theme";
  }

  function setup() {
    var button = document.querySelector(".theme-toggle");
    if (!button) return;
    button.hidden = false;
    sync(button);
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try {
        window.localStorage.setItem(KEY, next);
      } catch (error) {
        /* not persisted; fine */
      }
      sync(button);
      notify();
    });
    if (media && media.addEventListener) {
      media.addEventListener("change", function () {
        if (saved()) return; // an explicit choice wins over the system
        delete root.dataset.theme;
        sync(button);
        notify();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
