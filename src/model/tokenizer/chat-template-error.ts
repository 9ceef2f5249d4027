/**
 * The chat template could not render a conversation: the model has none, or the template refused
 * the messages (Jinja's `raise_exception`, e.g. a role order it cannot express). The tokenizer
 * knows nothing of the request the messages came from; the API layer turns this into its 400
 * naming the request field.
 */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}
