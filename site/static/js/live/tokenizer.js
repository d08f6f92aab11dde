// The tokenizer of a live model, from the description the exporter writes into live.json:
//   "pocket-words"   the pocket models' word tokenizer (exporter/pocket/tokenizer.py):
//                    lower-case, split with the same pattern, unknown words to <unk>,
//                    <sot> ... <eot> (truncated so <eot> stays last), padded with 0;
//   "open_clip-bpe"  open_clip's byte-level BPE (./bpe.js), whose merges and cleaning tables
//                    are fetched on first use (ready()).

import { loadBpe } from "./bpe.js";

export function makeTokenizer(desc) {
  if (!desc || desc.kind !== "pocket-words") {
    throw new Error(`unknown tokenizer kind ${desc && desc.kind}; re-export the data with this version of the exporter`);
  }
  const ids = new Map(desc.vocab.map((word, i) => [word, i]));
  const pattern = new RegExp(desc.pattern, "gu");
  const length = desc.context_length;

  function words(text) {
    return String(text).toLowerCase().match(pattern) || [];
  }

  /** Token ids of one text (Int32Array of context_length) and the words that were unknown. */
  function encode(text) {
    const list = words(text);
    const unknown = list.filter((w) => !ids.has(w));
    let tokens = [desc.sot_id, ...list.map((w) => (ids.has(w) ? ids.get(w) : desc.unk_id)), desc.eot_id];
    if (tokens.length > length) tokens = [...tokens.slice(0, length - 1), desc.eot_id];
    const out = new Int32Array(length).fill(desc.pad_id);
    out.set(tokens);
    return { ids: out, unknown, truncated: list.length + 2 > length };
  }

  return { encode, words, contextLength: length, vocabulary: desc.vocab.slice(3, -1), bytes: 0, ready: async () => {} };
}

/**
 * openTokenizer(desc, resolve) -> {kind, bytes, contextLength, ready(onBytes), encode(text)}.
 * encode works once ready() has resolved (at once for the word tokenizer).
 */
export function openTokenizer(desc, resolve) {
  if (desc && desc.kind === "open_clip-bpe") {
    let impl = null;
    let loading = null;
    const handle = {
      kind: desc.kind,
      contextLength: desc.context_length,
      bytes: desc.merges.bytes + desc.tables.bytes,
      ready(onBytes = () => {}) {
        if (!loading) {
          loading = loadBpe(desc, resolve, onBytes).then((made) => { impl = made; });
          loading.catch(() => { loading = null; });
        }
        return loading;
      },
      encode(text) {
        if (!impl) throw new Error("the tokenizer is not loaded yet: ask the model once it has loaded");
        return impl.encode(text);
      },
      tokens(text) {
        if (!impl) throw new Error("the tokenizer is not loaded yet: ask the model once it has loaded");
        return impl.tokens(text);
      },
    };
    return handle;
  }
  return { kind: "pocket-words", ...makeTokenizer(desc) };
}
