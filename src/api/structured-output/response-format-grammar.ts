import type { GrammarSpec } from '../../engine/constraints/grammar-spec.js';
import type { ResponseFormat } from '../schemas/response-format.js';

/** Any JSON object: OpenAI's JSON mode answers with an object, never a bare value. */
const ANY_OBJECT_SCHEMA = '{"type":"object"}';

/** The grammar a `response_format` asks for; null for free text. */
export function responseFormatGrammar(format: ResponseFormat | null | undefined): GrammarSpec | null {
  if (!format || format.type === 'text') return null;
  if (format.type === 'json_object' || format.json_schema.schema === undefined) return { type: 'json_schema', schema: ANY_OBJECT_SCHEMA };
  return { type: 'json_schema', schema: JSON.stringify(format.json_schema.schema) };
}
