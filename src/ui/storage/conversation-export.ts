import type { Conversation } from '../conversation.js';

/**
 * A conversation as a Markdown document: title, the system prompt and parameters, then each turn
 * under its speaker. Reasoning goes in a <details> block, as the page shows it: folded.
 */
export function conversationMarkdown(conversation: Conversation): string {
  const parts = [`# ${conversation.title}`, ''];
  const p = conversation.params;
  parts.push(
    `_Exported ${new Date().toISOString()}; temperature ${p.temperature}, top_p ${p.top_p}, top_k ${p.top_k}, ` +
      `max_tokens ${p.max_tokens}, seed ${p.seed ?? 'random'}, thinking ${p.thinking ? 'on' : 'off'}._`,
    '',
  );
  if (conversation.system_prompt) parts.push('## System', '', conversation.system_prompt, '');
  for (const message of conversation.messages) {
    parts.push(message.role === 'user' ? '## User' : '## Assistant', '');
    if (message.reasoning) parts.push('<details><summary>Reasoning</summary>', '', message.reasoning, '', '</details>', '');
    parts.push(message.content, '');
    if (message.stopped) parts.push('_(stopped before the end)_', '');
  }
  return parts.join('\n');
}

/** A file name for the download: the title's letters and digits, or the id. */
export function exportFileName(conversation: Conversation, extension: 'md' | 'json'): string {
  const stem = conversation.title.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').slice(0, 60) || conversation.id;
  return `${stem}.${extension}`;
}
