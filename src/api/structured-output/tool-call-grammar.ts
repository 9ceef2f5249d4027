import { jsonSchemaToEbnf } from '../../engine/constraints/grammar-check.js';
import type { GrammarSpec } from '../../engine/constraints/grammar-spec.js';
import type { FunctionTool, ToolChoice } from '../schemas/tools.js';

/**
 * The grammar that makes Qwen3's function calls valid, as an xgrammar structural tag. Each call
 * is written the way Qwen3's chat template teaches it (hermes style):
 *
 *   <tool_call>\n{"name": "<name>", "arguments": <JSON valid against the parameters>}\n</tool_call>
 *
 * so the begin text pins the function's name and the content is the arguments' schema.
 * `required` / a named function: the answer is one or more such blocks and nothing else.
 * `auto`: free text, until the model writes `<tool_call>`; from there the block must be a valid
 * call. `parallel_tool_calls: false` stops after the first call.
 */
export const TOOL_CALL_TRIGGER = '<tool_call>';

async function callTag(tool: FunctionTool, index: number) {
  const schema = JSON.stringify(tool.function.parameters ?? { type: 'object' });
  return {
    type: 'tag',
    begin: `${TOOL_CALL_TRIGGER}\n{"name": ${JSON.stringify(tool.function.name)}, "arguments": `,
    content: { type: 'grammar', grammar: await jsonSchemaToEbnf(schema, `tools.${index}.function.parameters`) },
    end: '}\n</tool_call>',
  };
}

/** Null when calls need no constraint (tool_choice `none`, or no tools). */
export async function toolCallGrammar(tools: readonly FunctionTool[], choice: ToolChoice, parallel: boolean): Promise<GrammarSpec | null> {
  if (tools.length === 0 || choice === 'none') return null;
  const offered = tools
    .map((tool, index) => ({ tool, index }))
    .filter(({ tool }) => typeof choice !== 'object' || tool.function.name === choice.function.name);
  const tags = await Promise.all(offered.map(({ tool, index }) => callTag(tool, index)));
  const format =
    choice === 'auto'
      ? { type: 'triggered_tags', triggers: [TOOL_CALL_TRIGGER], tags, at_least_one: false, stop_after_first: !parallel }
      : // A named function is one call, as OpenAI answers a forced function.
        { type: 'tags_with_separator', tags, separator: '\n', at_least_one: true, stop_after_first: typeof choice === 'object' || !parallel };
  return { type: 'structural_tag', tag: JSON.stringify({ type: 'structural_tag', format }) };
}
