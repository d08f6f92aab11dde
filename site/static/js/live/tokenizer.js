// The pocket models' word tokenizer (exporter/pocket/tokenizer.py), from the description the
// exporter writes into live.json: lower-case, split with the same pattern, unknown words to
// <unk>, <sot> ... <eot> (truncated so <eot> stays last), padded with 0.

export function makeTokenizer(desc) {
  if (!desc || desc.kind !== "pocket-words") {
    throw new Error(`unknown tokenizer kind ${desc && desc.kind}`);
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

  return { encode, words, contextLength: length, vocabulary: desc.vocab.slice(3, -1) };
}
