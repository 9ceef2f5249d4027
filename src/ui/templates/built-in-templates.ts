import type { PromptTemplate } from '../conversation.js';

/**
 * The templates every install has. A template fills the message box; `{{text}}` marks where the
 * user's material goes (the page selects it so that typing or pasting replaces it).
 */
export const BUILT_IN_TEMPLATES: readonly PromptTemplate[] = [
  {
    id: 'builtin-contract-summary',
    name: 'Summarise a contract',
    prompt:
      'Summarise this contract under four headings: **Parties** (who, in which role), **Obligations** ' +
      '(who must do what), **Dates** (start, end, deadlines, notice periods) and **Amounts** (prices, ' +
      'fees, penalties, with currency). Quote the clause number for each point; write "not stated" ' +
      'where the contract is silent.\n\n{{text}}',
    builtin: true,
  },
  {
    id: 'builtin-translate',
    name: 'Translate',
    prompt: 'Translate the following text into English. Keep the formatting, names and numbers as they are; answer with the translation only.\n\n{{text}}',
    builtin: true,
  },
  {
    id: 'builtin-code-review',
    name: 'Review code',
    prompt:
      'Review this code as a careful senior engineer: list bugs first (with the line and a fix), ' +
      'then risks (security, concurrency, error handling), then readability. Be specific; skip praise.\n\n```\n{{text}}\n```',
    builtin: true,
  },
  {
    id: 'builtin-extract-json',
    name: 'Extract JSON by a schema',
    prompt:
      'Extract the data from the text below as JSON that matches this JSON Schema. Answer with the ' +
      'JSON only, in a ```json block; use null for a field the text does not give.\n\nSchema:\n```json\n' +
      '{"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string", "format": "date"}, "amount": {"type": "number"}}}\n' +
      '```\n\nText:\n{{text}}',
    builtin: true,
  },
];
