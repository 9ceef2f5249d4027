/**
 * What a request's output must match, as plain data that crosses the worker boundary. The API
 * turns `response_format` and `tools` into one of these; the engine compiles it (once per distinct
 * spec, see GrammarCompiler) and masks every sampling step with it.
 */
export type GrammarSpec =
  /** A JSON value valid against a JSON Schema, given as its JSON text. */
  | { type: 'json_schema'; schema: string }
  /**
   * xgrammar's structural tag (its JSON text): free text with tagged regions whose content is
   * constrained, e.g. `<tool_call>{json of a call}</tool_call>`, or a sequence of such parts.
   */
  | { type: 'structural_tag'; tag: string };

/** The cache key of a spec: equal specs compile to the same grammar. */
export function grammarKey(spec: GrammarSpec): string {
  return spec.type === 'json_schema' ? `json_schema:${spec.schema}` : `structural_tag:${spec.tag}`;
}
