/** An answer's text split into Qwen3's reasoning and the answer proper. */
export interface SplitAnswer {
  reasoning: string;
  answer: string;
  /** The reasoning block has begun and not ended: the model is still thinking. */
  thinking: boolean;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/**
 * Splits raw generated text: `<think>...</think>` at the start is reasoning, the rest the answer.
 * A `</think>` with no opening tag also ends reasoning (Qwen3 templates that put `<think>` in the
 * prompt leave only the closing tag in the output). While the closing tag has not arrived, all
 * text after `<think>` is reasoning; a partial tag at the end of a stream chunk is held back so
 * that `<thi` never flashes in the answer.
 */
export function splitReasoning(text: string): SplitAnswer {
  const start = text.trimStart();
  const close = text.indexOf(CLOSE);
  if (start.startsWith(OPEN)) {
    const body = start.slice(OPEN.length);
    const end = body.indexOf(CLOSE);
    if (end < 0) return { reasoning: body.trim(), answer: '', thinking: true };
    return { reasoning: body.slice(0, end).trim(), answer: body.slice(end + CLOSE.length).trimStart(), thinking: false };
  }
  if (close >= 0) return { reasoning: text.slice(0, close).trim(), answer: text.slice(close + CLOSE.length).trimStart(), thinking: false };
  if (OPEN.startsWith(start) && start.length > 0) return { reasoning: '', answer: '', thinking: true };
  return { reasoning: '', answer: text, thinking: false };
}
