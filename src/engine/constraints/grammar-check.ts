import { ServeError } from '../../errors.js';
import type { GrammarSpec } from './grammar-spec.js';
import { MAX_JSON_WHITESPACE } from './json-whitespace.js';
import { loadXGrammar, xgrammarReason } from './xgrammar-module.js';

/** Keywords whose values are subschemas (objects of them, arrays of them, or one). */
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const;
const SUBSCHEMA_LISTS = ['prefixItems', 'anyOf', 'oneOf', 'allOf'] as const;
const SUBSCHEMA_SINGLES = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames'] as const;

type Refusal = { reason: string } | null;

/**
 * Checks that xgrammar can turn a spec into a grammar, without the vocabulary (milliseconds, so
 * the API can do it on its own thread before anything is streamed). A refused JSON schema is a
 * 400 `unsupported_schema` whose `param` points at the deepest part that is refused on its own
 * (`response_format.json_schema.schema.properties.when.pattern`'s parent), with xgrammar's reason.
 */
export async function checkGrammarSpec(spec: GrammarSpec, param: string): Promise<void> {
  if (spec.type === 'structural_tag') {
    const refusal = await refusalOf(() => loadXGrammar().xgrammar.Grammar.fromStructuralTag(spec.tag));
    if (refusal) throw unsupported(param, refusal.reason);
    return;
  }
  await checkJsonSchema(spec.schema, param);
}

/**
 * A JSON Schema as xgrammar's EBNF (whitespace bounded as for response_format), for grammars
 * that embed a schema in a larger one (a function's arguments inside a `<tool_call>` block).
 * A schema xgrammar cannot enforce is the same 400 as checkGrammarSpec's, naming `param`'s part.
 */
export async function jsonSchemaToEbnf(schema: string, param: string): Promise<string> {
  const { xgrammar, withDiagnostics } = loadXGrammar();
  const outcome = await withDiagnostics(() => xgrammar.Testings._jsonSchemaToEBNF(schema, true, undefined, undefined, true, MAX_JSON_WHITESPACE));
  if (outcome.result !== undefined) return outcome.result;
  await checkJsonSchema(schema, param);
  throw unsupported(param, xgrammarReason(outcome.lines, outcome.error));
}

async function checkJsonSchema(schemaText: string, param: string): Promise<void> {
  const refusal = await schemaRefusal(schemaText);
  if (!refusal) return;
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch {
    throw unsupported(param, refusal.reason);
  }
  const deepest = await deepestRefusedPart(schema, schema, [], refusal);
  const where = [param, ...deepest.path].join('.');
  throw unsupported(where, `${where} cannot be enforced: ${deepest.refusal.reason}`);
}

async function refusalOf(build: () => Promise<{ dispose(): void }>): Promise<Refusal> {
  const outcome = await loadXGrammar().withDiagnostics(build);
  if (outcome.result) {
    outcome.result.dispose();
    return null;
  }
  return { reason: xgrammarReason(outcome.lines, outcome.error) };
}

function schemaRefusal(schema: string): Promise<Refusal> {
  return refusalOf(() => loadXGrammar().xgrammar.Grammar.fromJSONSchema(schema, true, undefined, undefined, true, MAX_JSON_WHITESPACE));
}

/**
 * Walks down from a refused schema into the subschemas that are refused on their own (with the
 * root's definitions beside them, so their `$ref`s still resolve) and returns the deepest.
 */
async function deepestRefusedPart(
  root: unknown,
  schema: unknown,
  path: string[],
  refusal: { reason: string },
): Promise<{ path: string[]; refusal: { reason: string } }> {
  if (schema === null || typeof schema !== 'object') return { path, refusal };
  for (const [childPath, child] of subschemas(schema as Record<string, unknown>)) {
    if (child === null || typeof child !== 'object' || Array.isArray(child)) continue;
    const definitions = root as Record<string, unknown>;
    const standalone = { ...(child as Record<string, unknown>), $defs: definitions.$defs, definitions: definitions.definitions };
    const childRefusal = await schemaRefusal(JSON.stringify(standalone));
    if (childRefusal) return deepestRefusedPart(root, child, [...path, ...childPath], childRefusal);
  }
  return { path, refusal };
}

function subschemas(schema: Record<string, unknown>): [string[], unknown][] {
  const found: [string[], unknown][] = [];
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (map && typeof map === 'object') for (const [name, child] of Object.entries(map)) found.push([[key, name], child]);
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((child, i) => found.push([[key, String(i)], child]));
  }
  for (const key of SUBSCHEMA_SINGLES) if (key in schema) found.push([[key], schema[key]]);
  return found;
}

function unsupported(param: string, reason: string): ServeError {
  return new ServeError('invalid_request_error', reason.includes('cannot be enforced') ? reason : `${param} cannot be enforced: ${reason}`, {
    param,
    code: 'unsupported_schema',
  });
}
