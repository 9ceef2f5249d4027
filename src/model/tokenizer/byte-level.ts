/**
 * GPT-2's byte-level alphabet, which Qwen's BPE vocabulary is written in: every byte 0..255 is
 * stored as one printable character, so a vocabulary entry such as `ĠÃ©` stands for the bytes
 * 0x20 0xC3 0xA9 (" é"). Reading a token's bytes back from its vocabulary string is what OpenAI's
 * logprobs `bytes` field needs, including for tokens that hold only part of a UTF-8 character.
 */

/**
 * The printable bytes map to themselves; the others (controls, space, 0x7F-0xA0, 0xAD) are moved
 * to U+0100 upwards in byte order. This is the published `bytes_to_unicode` table of GPT-2.
 */
function buildCharToByte(): Map<string, number> {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const charToByte = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const codePoint = printable(b) ? b : 256 + shifted++;
    charToByte.set(String.fromCodePoint(codePoint), b);
  }
  return charToByte;
}

const CHAR_TO_BYTE = buildCharToByte();

/**
 * The bytes a byte-level vocabulary entry stands for, or `null` when the string contains a
 * character outside the byte alphabet (then it is not a byte-level entry, e.g. an added token).
 */
export function byteLevelEntryToBytes(entry: string): Uint8Array | null {
  const bytes = new Uint8Array(entry.length);
  let n = 0;
  for (const ch of entry) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return null;
    bytes[n++] = b;
  }
  return bytes.subarray(0, n);
}
