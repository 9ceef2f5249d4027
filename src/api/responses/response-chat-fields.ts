import type { ChatOutputFields } from '../chat/chat-request-plan.js';
import type { ResponseFormat } from '../schemas/response-format.js';
import type { ResponseCreateRequest } from '../schemas/responses.js';
import type { FunctionTool, ToolChoice } from '../schemas/tools.js';

/**
 * A Responses request's tools, tool_choice and text.format in the chat API's shapes, so the chat
 * machinery (tool rendering, call parsing, grammars) serves both APIs. The Responses API's
 * function tool is flat (`{type, name, parameters}`) where chat nests it under `function`.
 */
export function chatOutputFields(body: ResponseCreateRequest): ChatOutputFields {
  return {
    tools: body.tools?.map(chatTool),
    tool_choice: chatToolChoice(body.tool_choice),
    parallel_tool_calls: body.parallel_tool_calls,
    response_format: chatResponseFormat(body.text?.format),
    chat_template_kwargs: undefined,
  };
}

function chatTool(tool: NonNullable<ResponseCreateRequest['tools']>[number]): FunctionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      ...(tool.parameters ? { parameters: tool.parameters } : {}),
      strict: tool.strict,
    },
  };
}

function chatToolChoice(choice: ResponseCreateRequest['tool_choice']): ToolChoice | undefined {
  if (choice === null || choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function chatResponseFormat(format: NonNullable<ResponseCreateRequest['text']>['format']): ResponseFormat | undefined {
  if (!format || format.type !== 'json_schema') return format;
  return { type: 'json_schema', json_schema: { name: format.name, description: format.description, schema: format.schema, strict: format.strict } };
}
