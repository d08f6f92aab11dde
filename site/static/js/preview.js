// The preview panel: thumbnails and captions of the items under the pointer
// or cursor, with a score line. DOM nodes only; captions are textContent.

import { el } from "./dom.js";

/**
 * createPreview({placeholder}) -> {element, show(entries, info), clear()}
 * entries: [{item, modality, index, role}] where item is an items.json entry
 * (with imageUrl) and modality its modality name ("image" shows the thumbnail,
 * any other shows item[modality] or the caption).
 * info: {score: number|null, scoreLabel: string, note: string}
 */
const NARROW = window.matchMedia("(max-width: 640px)");
let lastTap = null;
document.addEventListener("pointerup", (event) => {
  if (event.pointerType === "touch") lastTap = { y: event.clientY, time: performance.now() };
}, { capture: true, passive: true });
/** Captions longer than this show their start and a "full text" box (a 10,000-character
 * caption would otherwise stretch its figure by thousands of pixels). */
export const CLAMP_CHARS = 280;

function showClamped(s, text) {
  const long = text.length > CLAMP_CHARS;
  s.caption.textContent = long ? `${text.slice(0, CLAMP_CHARS).trimEnd()}…` : text;
  s.full.hidden = !long;
  if (!long) return;
  if (s.fullText.textContent !== text) {
    s.full.open = false;
    s.summary.textContent = `Full text (${text.length.toLocaleString("en")} characters)`;
    s.fullText.textContent = text;
  }
}

export function createPreview({ placeholder = "Point at the figure to see the items." } = {}) {
  const empty = el("p", { class: "fig-preview-empty", text: placeholder });
  const list = el("div", { class: "fig-preview-items" });
  const score = el("p", { class: "fig-preview-score" });
  const note = el("p", { class: "fig-preview-note" });
  // Not a landmark: every figure has one, and seven identical "Preview" regions only
  // cluttered the landmark list. The live region announces what is under the cursor.
  const element = el("div", { class: "fig-preview", attrs: { "aria-live": "polite" } }, [empty, list, score, note]);
  const slots = [];

  function slot(i) {
    while (slots.length <= i) {
      const tag = el("span", { class: "fig-preview-tag" });
      const img = el("img", { class: "fig-preview-thumb", attrs: { decoding: "async", width: "96", height: "96" } });
      const caption = el("p", { class: "fig-preview-caption" });
      // Long texts are clamped; the whole text is one click away, in a scrolling box.
      const fullText = el("p", { class: "fig-preview-fulltext" });
      const summary = el("summary");
      const full = el("details", { class: "fig-preview-full" }, [summary, fullText]);
      const link = el("a", { class: "fig-preview-link", attrs: { rel: "noopener noreferrer", target: "_blank" } });
      const credit = el("p", { class: "fig-preview-credit" });
      const node = el("figure", { class: "fig-preview-item" }, [tag, img, caption, full, link, credit]);
      list.append(node);
      slots.push({ node, tag, img, caption, full, summary, fullText, link, credit });
    }
    return slots[i];
  }

  // On a phone the preview sticks to the bottom of the screen (figures.css). After a tap,
  // make sure the tapped point is not hidden under it: scroll it just above the preview.
  function revealTap() {
    if (!lastTap || performance.now() - lastTap.time > 600 || !NARROW.matches) return;
    const tapY = lastTap.y;
    lastTap = null;
    requestAnimationFrame(() => {
      const top = element.getBoundingClientRect().top;
      if (tapY > top - 12) window.scrollBy({ top: tapY - top + 24, behavior: "auto" });
    });
  }

  function show(entries, info = {}) {
    empty.hidden = true;
    entries.forEach((entry, i) => {
      const s = slot(i);
      const { item, modality } = entry;
      s.node.hidden = false;
      s.node.dataset.modality = modality;
      s.node.dataset.index = String(entry.index);
      s.tag.textContent = `${entry.role ? `${entry.role}: ` : ""}${modality} #${entry.index}${item.id ? ` · ${item.id}` : ""}`;
      const view = modalityView(item, modality);
      if (view.imageUrl) {
        if (s.img.getAttribute("src") !== view.imageUrl) s.img.setAttribute("src", view.imageUrl);
        s.img.alt = view.alt;
        s.img.hidden = false;
      } else {
        s.img.hidden = true;
        s.img.removeAttribute("src");
      }
      showClamped(s, String(view.text || ""));
      s.caption.hidden = !view.text;
      // Only http(s) links were exported (exporter/media.py); the text is set, never parsed.
      if (view.link) {
        s.link.href = view.link;
        s.link.textContent = view.linkText;
        s.link.hidden = false;
      } else {
        s.link.removeAttribute("href");
        s.link.hidden = true;
      }
      s.credit.textContent = view.credit || "";
      s.credit.hidden = !view.credit;
    });
    for (let i = entries.length; i < slots.length; i++) slots[i].node.hidden = true;
    score.textContent = info.score === null || info.score === undefined
      ? (info.scoreLabel || "")
      : `${info.scoreLabel || "similarity"} ${Number(info.score).toFixed(3)}`;
    note.textContent = info.note || "";
    revealTap();
  }

  function clear() {
    empty.hidden = false;
    for (const s of slots) s.node.hidden = true;
    score.textContent = "";
    note.textContent = "";
  }

  return { element, show, clear };
}

const LINK_TEXT = { audio: "source video", molecule: "source" };

/**
 * What one item shows for one modality: the image thumbnail (with its credit),
 * the caption, or another modality's own preview (a spectrogram, a drawn
 * molecule) with its text and source link. Never a file name.
 */
export function modalityView(item, modality) {
  const extra = item.extra || {};
  const media = (item.media || {})[modality] || {};
  if (modality === "image") {
    const imageUrl = item.imageUrl || media.imageUrl || null;
    return {
      imageUrl, alt: `image ${item.id}`, text: imageUrl ? "" : "(image not redistributed)",
      // The original's address (a photograph's Flickr page) when it is a web link.
      credit: extra.credit || "", link: media.link || (/^https?:\/\//.test(extra.source || "") ? extra.source : null), linkText: "source",
    };
  }
  if (modality === "text") return { imageUrl: null, text: item.text, link: null, credit: "" };
  return {
    imageUrl: media.imageUrl || null,
    alt: `${modality} of item ${item.id}`,
    text: media.text || extra[modality] || "",
    link: media.link || null,
    linkText: LINK_TEXT[modality] || "source",
    credit: "",
  };
}

/** Preview entries for a matrix cell (stacked indices row, col). */
export function cellEntries(cell, n, modalities, items) {
  const a = Math.floor(cell.row / n), i = cell.row % n;
  const b = Math.floor(cell.col / n), j = cell.col % n;
  return [
    { item: items[i], modality: modalities[a], index: i, role: "row" },
    { item: items[j], modality: modalities[b], index: j, role: "column" },
  ];
}

/** Info line for a matrix cell. */
export function cellInfo(cell, n) {
  const i = cell.row % n, j = cell.col % n;
  const sameModality = Math.floor(cell.row / n) === Math.floor(cell.col / n);
  let note = "";
  if (i === j) note = sameModality ? "the same item" : "a matched pair";
  return { score: cell.value, scoreLabel: "cosine similarity", note };
}
