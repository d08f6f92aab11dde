// Page entry point: hydrates every figure and makes footnote / citation tips work on touch.
// Each .figure-mount names its kind (data-kind) and its configuration (data-config, JSON written
// by the site build); the module static/js/figures/<kind>.js exports render(mount, config).
// A figure is hydrated (its module imported, its data fetched, its libraries
// loaded) only when it comes within one screen of the viewport: nothing is
// downloaded for figures the reader never reaches.

const KIND = /^[a-z][a-z0-9-]*$/;
const started = new WeakSet();

function showFailure(mount, message) {
  const box = document.createElement("p");
  box.className = "figure-error";
  box.setAttribute("role", "alert");
  box.textContent = message;
  mount.replaceChildren(box);
  mount.dataset.state = "error";
}

export async function hydrate(mount) {
  if (started.has(mount)) return;
  started.add(mount);
  const kind = mount.dataset.kind || "";
  let config;
  try {
    config = JSON.parse(mount.dataset.config || "{}");
  } catch (error) {
    console.error("figure configuration is not JSON", mount, error);
    showFailure(mount, "This figure could not be shown: its configuration is damaged.");
    return;
  }
  if (!KIND.test(kind)) {
    showFailure(mount, `This figure could not be shown: unknown kind "${kind}".`);
    return;
  }
  mount.dataset.state = "loading";
  try {
    // A full URL relative to this module; the page's import map adds the cache-busting hash.
    const module = await import(new URL(`./figures/${kind}.js`, import.meta.url).href);
    if (typeof module.render !== "function") throw new Error(`figures/${kind}.js has no render()`);
    await module.render(mount, config);
    if (mount.dataset.state === "loading") mount.dataset.state = "ready";
  } catch (error) {
    console.error(`figure ${config.id || ""} (${kind}) failed`, error);
    showFailure(mount, `This figure could not be shown: ${error && error.message ? error.message : error}`);
  }
}

function hydrateAll() {
  const mounts = [...document.querySelectorAll(".figure-mount")];
  if (!("IntersectionObserver" in window)) {
    mounts.forEach((m) => hydrate(m));
    return;
  }
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          hydrate(entry.target);
        }
      }
    },
    { rootMargin: "100% 0px" },
  );
  mounts.forEach((m) => observer.observe(m));
}

// Tips: hover and keyboard focus are handled in CSS; on touch screens the first tap on a footnote
// or citation number opens its tip instead of jumping away, and Escape or a tap elsewhere closes it.
function setupTips() {
  const touch = window.matchMedia && window.matchMedia("(hover: none)").matches;
  const closeAll = (except) => {
    for (const open of document.querySelectorAll(".tip-anchor.tip-open")) {
      if (open !== except) open.classList.remove("tip-open");
    }
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".tip-anchor a");
    const anchor = link && link.closest(".tip-anchor");
    if (touch && anchor && !anchor.classList.contains("tip-open") && !event.target.closest(".tip")) {
      event.preventDefault();
      closeAll(anchor);
      anchor.classList.add("tip-open");
      return;
    }
    if (!event.target.closest(".tip-anchor")) closeAll(null);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    closeAll(null);
    const anchor = document.activeElement && document.activeElement.closest(".tip-anchor");
    if (anchor) anchor.classList.add("tip-dismissed");
  });
  document.addEventListener("focusout", (event) => {
    const anchor = event.target.closest && event.target.closest(".tip-anchor");
    if (anchor) anchor.classList.remove("tip-dismissed");
  });
}

setupTips();
hydrateAll();
