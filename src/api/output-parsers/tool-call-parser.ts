import { randomUUID } from 'node:crypto';
import { partialTagLength } from './partial-tag.js';

/**
 * Finds Qwen3's hermes-style function calls in the answer text, whole or while streaming:
 * `<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>`, one block
 * per call, as its chat template teaches the model. Text outside the blocks stays content
 * (whitespace between blocks dropped). A block whose JSON is not a call object stays content,
 * tags included, so nothing the model wrote is lost.
 */
export const TOOL_CALL_START = '<tool_call>';
export const TOOL_CALL_END = '</tool_call>';

/** One parsed call, in OpenAI's shape: arguments as a JSON string. */
export interface ParsedToolCall {
  index: number;
  id: string;
  name: string;
  arguments: string;
}

export interface ToolCallSplit {
  content: string;
  calls: ParsedToolCall[];
}

export class ToolCallParser {
  /** Text received and not yet given out: a possible tag start, or an open block. */
  private held = '';
  private inBlock = false;
  private count = 0;
  /** After a block: whitespace before the next block or the end is not content. */
  private afterBlock = false;

  /** Calls found so far. */
  get callCount(): number {
    return this.count;
  }

  push(text: string): ToolCallSplit {
    this.held += text;
    const out: ToolCallSplit = { content: '', calls: [] };
    for (;;) {
      if (!this.inBlock) {
        const start = this.held.indexOf(TOOL_CALL_START);
        if (start < 0) {
          const keep = partialTagLength(this.held, TOOL_CALL_START);
          this.giveContent(out, this.held.slice(0, this.held.length - keep));
          this.held = this.held.slice(this.held.length - keep);
          return out;
        }
        this.giveContent(out, this.held.slice(0, start));
        this.held = this.held.slice(start + TOOL_CALL_START.length);
        this.inBlock = true;
      }
      const end = this.held.indexOf(TOOL_CALL_END);
      if (end < 0) return out;
      const body = this.held.slice(0, end);
      this.held = this.held.slice(end + TOOL_CALL_END.length);
      this.inBlock = false;
      const call = this.toCall(body);
      if (call) {
        out.calls.push(call);
        this.afterBlock = true;
      } else {
        out.content += `${TOOL_CALL_START}${body}${TOOL_CALL_END}`;
      }
    }
  }

  /** The end of the output: an unclosed block or a partial tag is content as written. */
  finish(): ToolCallSplit {
    const text = (this.inBlock ? TOOL_CALL_START : '') + this.held;
    this.held = '';
    this.inBlock = false;
    const out: ToolCallSplit = { content: '', calls: [] };
    this.giveContent(out, text);
    return out;
  }

  /** Content before a block or the end; the whitespace that follows a block is dropped. */
  private giveContent(out: ToolCallSplit, text: string): void {
    const given = this.afterBlock ? text.trimStart() : text;
    if (given === '') return;
    this.afterBlock = false;
    out.content += given;
  }

  private toCall(body: string): ParsedToolCall | null {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return null;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string') return null;
    return {
      index: this.count++,
      id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
      name,
      arguments: JSON.stringify(args ?? {}),
    };
  }
}

