import { ReasoningParser } from './reasoning-parser.js';
import { ToolCallParser, type ParsedToolCall } from './tool-call-parser.js';

/** A piece of one choice's output in OpenAI's message fields. */
export interface ChatOutputPiece {
  reasoning: string;
  content: string;
  calls: ParsedToolCall[];
}

/**
 * One chat choice's output turned into OpenAI's message fields, whole or streamed: reasoning
 * first (`<think>` -> reasoning_content), then function calls found in the answer (`<tool_call>`
 * -> tool_calls) when the request offered tools; the rest is content.
 */
export class ChatOutputParser {
  private readonly reasoning: ReasoningParser;
  private readonly tools: ToolCallParser | null;

  constructor(options: { promptOpensReasoning: boolean; parseToolCalls: boolean }) {
    this.reasoning = new ReasoningParser({ promptOpensReasoning: options.promptOpensReasoning });
    this.tools = options.parseToolCalls ? new ToolCallParser() : null;
  }

  get hasReasoning(): boolean {
    return this.reasoning.hasReasoning;
  }

  get callCount(): number {
    return this.tools?.callCount ?? 0;
  }

  /** The reasoning parser, for counting reasoning tokens. */
  get reasoningParser(): ReasoningParser {
    return this.reasoning;
  }

  push(text: string): ChatOutputPiece {
    const split = this.reasoning.push(text);
    return this.answer(split.reasoning, split.content, false);
  }

  finish(): ChatOutputPiece {
    const split = this.reasoning.finish();
    return this.answer(split.reasoning, split.content, true);
  }

  private answer(reasoning: string, content: string, last: boolean): ChatOutputPiece {
    if (!this.tools) return { reasoning, content, calls: [] };
    const found = this.tools.push(content);
    if (!last) return { reasoning, content: found.content, calls: found.calls };
    const rest = this.tools.finish();
    return { reasoning, content: found.content + rest.content, calls: [...found.calls, ...rest.calls] };
  }
}
