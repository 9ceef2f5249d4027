/**
 * How much whitespace a constrained JSON value may hold between two of its tokens. Unbounded
 * whitespace lets a weak or random model loop on spaces and newlines until max_tokens without
 * ever breaking the grammar; 24 still leaves room for newlines and deep indentation when a model
 * pretty-prints.
 */
export const MAX_JSON_WHITESPACE = 24;
