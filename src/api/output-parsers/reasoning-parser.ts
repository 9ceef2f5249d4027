import { partialTagLength } from './partial-tag.js';

/**
 * Splits Qwen3's output into its reasoning (`<think>...</think>`) and its answer, as vLLM's qwen3
 * reasoning parser does, whole or piece by piece while streaming:
 *
 * - an output that opens with `<think>` (leading whitespace allowed) is reasoning up to
 *   `</think>`, and the answer after it (the blank lines Qwen3 writes after `</think>` dropped);
 * - an output whose prompt already opened the block (templates of thinking-only models end the
 *   prompt with `<think>`) is reasoning from its first character;
 * - any other output is all answer, `<think>` tags inside it included: the answer never lands in
 *   the reasoning because of a tag in the middle of it, and `enable_thinking: false` (whose
 *   template pre-fills an empty block in the prompt) gives plain content;
 * - an output cut off while reasoning is all reasoning, with an empty answer.
 *
 * Text is held back only while it could still be the start of a tag, so pieces flow as soon as
 * they are known to be reasoning or answer.
 */
export const THINK_START = '<think>';
export const THINK_END = '</think>';

export interface ReasoningSplit {
  reasoning: string;
  content: string;
}

type State = 'undecided' | 'reasoning' | 'content';

export class ReasoningParser {
  private state: State;
  /** Text received but not yet given out: a possible tag start, or leading whitespace. */
  private held = '';
  /** Right after `</think>`: the answer's leading whitespace is dropped. */
  private trimAnswerStart = false;
  /** Whether a reasoning block was opened at all (the prompt's or the output's). */
  private sawReasoning: boolean;

  constructor(options: { promptOpensReasoning?: boolean } = {}) {
    this.state = options.promptOpensReasoning ? 'reasoning' : 'undecided';
    this.sawReasoning = options.promptOpensReasoning ?? false;
  }

  /** Whether the output had a reasoning block (so `reasoning_content` is worth reporting). */
  get hasReasoning(): boolean {
    return this.sawReasoning;
  }

  /** The next piece of output, split into what is now known to be reasoning and answer. */
  push(text: string): ReasoningSplit {
    this.held += text;
    const out: ReasoningSplit = { reasoning: '', content: '' };
    if (this.state === 'undecided') {
      const trimmed = this.held.trimStart();
      if (trimmed.startsWith(THINK_START)) {
        this.state = 'reasoning';
        this.sawReasoning = true;
        this.held = trimmed.slice(THINK_START.length);
      } else if (THINK_START.startsWith(trimmed)) {
        return out;
      } else {
        this.state = 'content';
      }
    }
    if (this.state === 'reasoning') {
      const end = this.held.indexOf(THINK_END);
      if (end < 0) {
        const keep = partialTagLength(this.held, THINK_END);
        out.reasoning = this.held.slice(0, this.held.length - keep);
        this.held = this.held.slice(this.held.length - keep);
        return out;
      }
      out.reasoning = this.held.slice(0, end);
      this.held = this.held.slice(end + THINK_END.length);
      this.state = 'content';
      this.trimAnswerStart = true;
    }
    out.content = this.takeAnswer();
    return out;
  }

  /** The end of the output: whatever was held back goes where it belongs. */
  finish(): ReasoningSplit {
    const held = this.held;
    this.held = '';
    if (this.state === 'reasoning') return { reasoning: held, content: '' };
    if (this.state === 'undecided') return { reasoning: '', content: held };
    this.held = held;
    return { reasoning: '', content: this.takeAnswer() };
  }

  private takeAnswer(): string {
    if (this.trimAnswerStart) {
      this.held = this.held.trimStart();
      if (this.held === '') return '';
      this.trimAnswerStart = false;
    }
    const text = this.held;
    this.held = '';
    return text;
  }
}


/**
 * Generated tokens spent reasoning: up to and including the `</think>` token, or all of them
 * when the output was cut off inside the block; 0 without a block.
 */
export function reasoningTokenCount(tokenIds: readonly number[], parser: ReasoningParser, thinkEndId: number | undefined): number {
  if (!parser.hasReasoning) return 0;
  const end = thinkEndId === undefined ? -1 : tokenIds.indexOf(thinkEndId);
  return end < 0 ? tokenIds.length : end + 1;
}
