import { z } from 'zod';

/** What a named schema carries into openapi.yaml. */
export interface ComponentMeta {
  id: string;
  description: string;
}

/**
 * The request and response schemas that become `components.schemas` of openapi.yaml. Requests
 * are validated with these very schemas, so the document cannot drift from the code; a schema
 * registered here and used inside another becomes a `$ref` to its component. Features outside
 * this layer register their schemas here too (src/batch/http/schemas/).
 */
export const components = z.registry<ComponentMeta, z.ZodType>();

/**
 * Registers `schema` as the component `id`; use the schema returned. Its description goes through
 * `.meta()` too, which is where z.toJSONSchema reads descriptions from.
 */
export function component<Schema extends z.ZodType>(schema: Schema, id: string, description: string): Schema {
  const described = schema.meta({ description }) as Schema;
  components.add(described, { id, description });
  return described;
}
