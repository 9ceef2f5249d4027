import { invalidParam } from '../../errors.js';
import type { GrammarSpec } from '../../engine/constraints/grammar-spec.js';
import type { ChatCompletionRequest } from '../schemas/chat.js';
import type { FunctionTool, ToolChoice } from '../schemas/tools.js';
import { responseFormatGrammar } from '../structured-output/response-format-grammar.js';
import { toolCallGrammar } from '../structured-output/tool-call-grammar.js';

/** The request fields that decide an answer's constraints (the Responses API maps its own onto them). */
export type ChatOutputFields = Pick<ChatCompletionRequest, 'tools' | 'tool_choice' | 'parallel_tool_calls' | 'response_format' | 'chat_template_kwargs'>;

/** What a chat request's `response_format`, `tools` and thinking switch decide before rendering. */
export interface ChatOutputPlan {
  /** Tools shown to the model by the chat template (none for tool_choice `none`). */
  tools: FunctionTool[];
  /** Whether the answer is searched for `<tool_call>` blocks. */
  parseToolCalls: boolean;
  grammar: GrammarSpec | null;
  /** The request field the grammar comes from, for error messages. */
  grammarParam: string;
  /** The template's enable_thinking; undefined leaves the template's default. */
  enableThinking: boolean | undefined;
}

/**
 * Decides a chat request's output constraints; `formatParam` names response_format in errors
 * (the Responses API calls it `text.format`). A forced shape (a JSON response_format, tool
 * choice `required` or a named function) starts the answer with its first constrained token, so
 * Qwen3's thinking block is left out unless the client turned thinking on explicitly.
 */
export async function planChatOutput(body: ChatOutputFields, formatParam = 'response_format'): Promise<ChatOutputPlan> {
  const offered = body.tools ?? [];
  const choice: ToolChoice = body.tool_choice ?? (offered.length > 0 ? 'auto' : 'none');
  if (typeof choice === 'object' && !offered.some((tool) => tool.function.name === choice.function.name)) {
    throw invalidParam('tool_choice', `tool_choice names the function '${choice.function.name}', which is not in tools`);
  }
  if ((choice === 'required' || typeof choice === 'object') && offered.length === 0) {
    throw invalidParam('tool_choice', 'tool_choice requires a call, but no tools were given');
  }
  const tools = choice === 'none' ? [] : offered;
  const formatGrammar = responseFormatGrammar(body.response_format);
  if (formatGrammar && tools.length > 0) {
    throw invalidParam(formatParam, `${formatParam} cannot constrain the answer while tools may be called; use tool_choice 'none' or drop one`);
  }
  const callGrammar = await toolCallGrammar(tools, choice, body.parallel_tool_calls ?? true);
  const forced = formatGrammar !== null || choice === 'required' || typeof choice === 'object';
  return {
    tools,
    parseToolCalls: tools.length > 0,
    grammar: formatGrammar ?? callGrammar,
    grammarParam: formatGrammar ? 'response_format' : 'tools',
    enableThinking: body.chat_template_kwargs?.enable_thinking ?? (forced ? false : undefined),
  };
}
