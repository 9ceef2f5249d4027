import { z } from 'zod';

/**
 * The schema of the field at `path` inside `root`, found by walking zod's definitions: objects by
 * key, arrays by element, records by value, through optional / nullable / default / pipe wrappers.
 * Undefined where the path leads through a union (the branch is not known) or off the schema.
 * Error messages use it for what an issue does not carry, e.g. whether a number must be whole.
 */
export function fieldSchema(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = unwrap(root);
  for (const key of path) {
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return undefined;
    schema = schema === undefined ? undefined : unwrap(schema);
  }
  return schema;
}

/** A number schema that only takes whole numbers (`z.int()`). */
export function isIntegerSchema(schema: z.ZodType | undefined): boolean {
  return schema instanceof z.ZodNumber && schema.isInt === true;
}

/** Strips wrappers that do not change what a value must look like. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault || current instanceof z.ZodReadonly) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}
