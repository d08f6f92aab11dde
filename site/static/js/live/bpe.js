// open_clip's SimpleTokenizer (open_clip/tokenizer.py, from OpenAI's CLIP) in the page:
// the text cleaning it applies (ftfy.fix_text, html.unescape twice, whitespace collapsing,
// lower-casing), its regex pre-tokenisation, byte-level BPE over the CLIP merges, <start> ...
// <end> and truncation to the context length. The exporter writes the merges and the cleaning
// tables (exporter/live/tokenizers.py); a browser test checks every id against open_clip.
//
// Not ported: ftfy's mojibake repair (fix_encoding): text that is already mojibake
// ("cafÃ©") is tokenised as typed, where open_clip would first re-decode it.

import { fetchBytes } from "./runtime.js";

/** open_clip's bytes_to_unicode: each byte a printable character, so BPE never sees spaces. */
export function bytesToUnicode() {
  const bs = [];
  const range = (a, b) => { for (let i = a; i <= b; i++) bs.push(i); };
  range(0x21, 0x7e);
  range(0xa1, 0xac);
  range(0xae, 0xff);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n += 1; }
  }
  // byChar[byte]: the character of a byte; ordered: the characters in open_clip's vocabulary
  // order (its dict's order: the printable bytes first), which the token ids follow.
  const byChar = new Array(256);
  bs.forEach((b, i) => { byChar[b] = String.fromCharCode(cs[i]); });
  return { byChar, ordered: cs.map((c) => String.fromCharCode(c)) };
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Python's html.unescape (the HTML5 rules, its entity table and invalid references). */
function makeHtmlUnescape(tables) {
  const html5 = tables.html5;
  const invalidRefs = tables.invalid_charrefs;
  const invalidPoints = new Set(tables.invalid_codepoints);
  const has = (k) => Object.prototype.hasOwnProperty.call(html5, k);
  const charref = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
  function replace(_match, s) {
    if (s[0] === "#") {
      const num = s[1] === "x" || s[1] === "X"
        ? parseInt(s.slice(2).replace(/;+$/, ""), 16)
        : parseInt(s.slice(1).replace(/;+$/, ""), 10);
      if (Object.prototype.hasOwnProperty.call(invalidRefs, String(num))) return invalidRefs[String(num)];
      if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
      if (invalidPoints.has(num)) return "";
      return String.fromCodePoint(num);
    }
    if (has(s)) return html5[s];
    const chars = Array.from(s); // Python slices code points
    for (let x = chars.length - 1; x > 1; x--) {
      const head = chars.slice(0, x).join("");
      if (has(head)) return html5[head] + chars.slice(x).join("");
    }
    return `&${s}`;
  }
  return (text) => (text.includes("&") ? text.replace(charref, replace) : text);
}

/** The parts of ftfy.fix_text (default settings) that apply to text that is not mojibake. */
function makeFtfy(tables, htmlUnescape) {
  // ftfy's entity table: HTML5 names ending in ";", plus upper-cased Latin ones (&EACUTE;).
  const entities = new Map();
  for (const [name, ch] of Object.entries(tables.html5)) {
    if (!name.endsWith(";")) continue;
    entities.set(`&${name}`, ch);
  }
  for (const [name, ch] of Object.entries(tables.html5)) {
    if (!name.endsWith(";") || name !== name.toLowerCase()) continue;
    const upper = `&${name.toUpperCase()}`;
    if (htmlUnescape(upper) === upper && !entities.has(upper)) entities.set(upper, ch.toUpperCase());
  }
  const translate = (map) => (text) => {
    let out = "";
    for (const ch of text) out += Object.prototype.hasOwnProperty.call(map, ch) ? map[ch] : ch;
    return out;
  };
  const control = new Set(tables.ftfy_control);
  const single = new RegExp(tables.ftfy_single_quotes, "gu");
  const double = new RegExp(tables.ftfy_double_quotes, "gu");
  const steps = [
    (t) => t.replace(/[\x80-\x9f]/g, (c) => tables.ftfy_c1[c]),
    translate(tables.ftfy_ligatures),
    translate(tables.ftfy_width),
    (t) => t.replace(double, '"').replace(single, "'"),
    (t) => t.replace(/\r\n/g, "\n").replace(/[\r\u2028\u2029\u0085]/g, "\n"),
    (t) => t.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
    (t) => t.replace(/\x1b\[((?:\d|;)*)([a-zA-Z])/g, ""),
    (t) => Array.from(t).filter((c) => !control.has(c.codePointAt(0))).join(""),
    (t) => t.normalize("NFC"),
  ];
  const unescape = (t) => t.replace(/&#?[0-9A-Za-z]{1,24};/g, (m) => {
    if (entities.has(m)) return entities.get(m);
    if (m.startsWith("&#")) {
      const u = htmlUnescape(m);
      return u.includes(";") ? m : u;
    }
    return m;
  });

  function fixSegment(text, withHtml) {
    for (;;) {
      const before = text;
      if (withHtml) text = unescape(text);
      for (const step of steps) text = step(text);
      if (text === before) return text;
    }
  }

  // fix_text works line by line; once a line holds "<" it stops decoding entities for good.
  return (text) => {
    let withHtml = true;
    const out = [];
    let pos = 0;
    while (pos < text.length) {
      let end = text.indexOf("\n", pos) + 1;
      if (end === 0) end = text.length;
      const segment = text.slice(pos, end);
      if (segment.includes("<")) withHtml = false;
      out.push(fixSegment(segment, withHtml));
      pos = end;
    }
    return out.join("");
  };
}

/** Python's str.split() / str.strip() whitespace, from the exported table of str.isspace. */
function makeWhitespace(tables) {
  const space = new Set(tables.isspace.map((c) => String.fromCodePoint(c)));
  const split = (text) => {
    const words = [];
    let word = "";
    for (const ch of text) {
      if (space.has(ch)) { if (word) words.push(word); word = ""; } else word += ch;
    }
    if (word) words.push(word);
    return words;
  };
  const strip = (text) => {
    const chars = Array.from(text);
    let a = 0;
    let b = chars.length;
    while (a < b && space.has(chars[a])) a++;
    while (b > a && space.has(chars[b - 1])) b--;
    return chars.slice(a, b).join("");
  };
  return { split, strip };
}

/** open_clip's clean functions: "lower" (the default), "whitespace" and "canonicalize". */
export function makeCleaner(tables, kind) {
  const htmlUnescape = makeHtmlUnescape(tables);
  const ftfy = makeFtfy(tables, htmlUnescape);
  const { split, strip } = makeWhitespace(tables);
  const basic = (t) => strip(htmlUnescape(htmlUnescape(ftfy(t))));
  const collapse = (t) => strip(split(t).join(" "));
  const punctuation = new Set(Array.from(tables.punctuation));
  if (kind === "lower") return (t) => collapse(basic(t)).toLowerCase();
  if (kind === "whitespace") return (t) => collapse(basic(t));
  if (kind === "canonicalize") {
    return (t) => {
      const s = Array.from(basic(t).replace(/_/g, " ")).filter((c) => !punctuation.has(c)).join("");
      return strip(split(s.toLowerCase()).join(" "));
    };
  }
  throw new Error(`unknown text cleaning "${kind}"; re-export with this version of the exporter`);
}

/**
 * makeBpe(desc, mergeBytes, tables) -> {encode(text) -> {ids, unknown: [], truncated}, tokens(text),
 * contextLength}. `mergeBytes`: the exported merges file (pairs of token ids, little-endian).
 */
export function makeBpe(desc, mergeBytes, tables) {
  const { byChar: byteChars, ordered } = bytesToUnicode();
  const vocab = ordered.slice();
  for (const c of ordered) vocab.push(`${c}</w>`);
  const width = desc.merges.dtype === "u4" ? 4 : 2;
  const view = new DataView(mergeBytes.buffer, mergeBytes.byteOffset, mergeBytes.byteLength);
  if (mergeBytes.byteLength !== desc.merges.count * 2 * width) {
    throw new Error(`the tokenizer's merges file has ${mergeBytes.byteLength} bytes, expected ${desc.merges.count * 2 * width}; re-export the data`);
  }
  const read = (k) => (width === 2 ? view.getUint16(k * 2, true) : view.getUint32(k * 4, true));
  const ranks = new Map();
  for (let i = 0; i < desc.merges.count; i++) {
    const a = vocab[read(2 * i)];
    const b = vocab[read(2 * i + 1)];
    ranks.set(`${a} ${b}`, i);
    vocab.push(a + b);
  }
  const encoder = new Map(vocab.map((t, i) => [t, i]));
  desc.special_tokens.forEach((t, k) => encoder.set(t, vocab.length + k));
  const cache = new Map(desc.special_tokens.map((t) => [t, [t]]));
  const clean = makeCleaner(tables, desc.clean);
  const specials = desc.special_tokens.map(escapeRegExp).join("|");
  const pattern = new RegExp(
    `${specials ? `${specials}|` : ""}'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\p{White_Space}\\p{L}\\p{N}]+`, "giu",
  );
  const utf8 = new TextEncoder();

  function bpe(token) {
    if (cache.has(token)) return cache.get(token);
    let word = Array.from(token);
    word[word.length - 1] += "</w>";
    if (word.length === 1) return word;
    for (;;) {
      let best = null;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = [word[i], word[i + 1]]; }
      }
      if (!best) break;
      const [first, second] = best;
      const next = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]);
          i += 1;
        }
      }
      word = next;
      if (word.length === 1) break;
    }
    cache.set(token, word);
    return word;
  }

  /** The BPE ids of a text, without <start>/<end> (open_clip's SimpleTokenizer.encode). */
  function tokens(text) {
    const out = [];
    for (const match of clean(String(text)).matchAll(pattern)) {
      let chars = "";
      for (const byte of utf8.encode(match[0])) chars += byteChars[byte];
      for (const piece of bpe(chars)) out.push(encoder.get(piece));
    }
    return out;
  }

  const length = desc.context_length;
  function encode(text) {
    let list = [desc.sot_id, ...tokens(text), desc.eot_id];
    const truncated = list.length > length;
    if (truncated) list = [...list.slice(0, length - 1), desc.eot_id];
    const ids = new Int32Array(length).fill(desc.pad_id);
    ids.set(list);
    return { ids, unknown: [], truncated };
  }

  return { encode, tokens, clean, contextLength: length, vocabularySize: encoder.size };
}

/** Fetch the exported merges and tables, then build the tokenizer; onBytes(received) reports. */
export async function loadBpe(desc, resolve, onBytes = () => {}) {
  let merges = 0;
  let tables = 0;
  const report = () => onBytes(merges + tables);
  const [mergeBytes, tableBytes] = await Promise.all([
    fetchBytes(resolve(desc.merges.file), (n) => { merges = n; report(); }),
    fetchBytes(resolve(desc.tables.file), (n) => { tables = n; report(); }),
  ]);
  const parsed = JSON.parse(new TextDecoder().decode(tableBytes));
  return makeBpe(desc, mergeBytes, parsed);
}
