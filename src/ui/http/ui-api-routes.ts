import type { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/http/app-env.js';
import { parseJsonBody } from '../../api/validation/parse-body.js';
import { parseValue } from '../../api/validation/parse-value.js';
import { ConversationFields, TemplateFields, type PromptTemplate } from '../conversation.js';
import { extractDocumentText } from '../documents/extract-text.js';
import { conversationMarkdown, exportFileName } from '../storage/conversation-export.js';
import type { ConversationStore } from '../storage/conversation-store.js';
import type { TemplateStore } from '../storage/template-store.js';
import { BUILT_IN_TEMPLATES } from '../templates/built-in-templates.js';

/** The stores the API reads and writes, opened on first use. */
export interface UiStores {
  conversations: ConversationStore;
  templates: TemplateStore;
}

/** Where the page's own API lives: not OpenAI's vocabulary, so not under /v1. */
export const UI_API_PATH = '/ui/api';
export const DOCUMENTS_PATH = `${UI_API_PATH}/documents`;

const ExportQuery = z.object({ format: z.enum(['markdown', 'json']).default('markdown') });
const DocumentUpload = z.object({
  file: z.custom<File>((value) => value instanceof File, { error: 'file must be an uploaded file (multipart form field "file")' }),
});

/**
 * The page's API over its stores: conversations (list, create, read, change, delete, export),
 * prompt templates (built-in and the user's own), and document text extraction. Errors are the
 * app's OpenAI envelope, thrown as ServeError like every other route's.
 */
export function registerUiApi(app: Hono<AppEnv>, stores: () => UiStores): void {
  const conversationPath = `${UI_API_PATH}/conversations`;
  app.get(conversationPath, (c) => c.json({ object: 'list', data: stores().conversations.list() }));
  app.post(conversationPath, async (c) => c.json(stores().conversations.create(await parseJsonBody(c.req.raw, ConversationFields))));
  app.get(`${conversationPath}/:id`, (c) => c.json(stores().conversations.get(c.req.param('id'))));
  app.put(`${conversationPath}/:id`, async (c) => c.json(stores().conversations.update(c.req.param('id'), await parseJsonBody(c.req.raw, ConversationFields))));
  app.delete(`${conversationPath}/:id`, (c) => {
    const id = c.req.param('id');
    stores().conversations.delete(id);
    return c.json({ id, object: 'conversation', deleted: true });
  });
  app.get(`${conversationPath}/:id/export`, (c) => {
    const { format } = parseValue(ExportQuery, c.req.query());
    const conversation = stores().conversations.get(c.req.param('id'));
    const markdown = format === 'markdown';
    const body = markdown ? conversationMarkdown(conversation) : `${JSON.stringify(conversation, null, 2)}\n`;
    return c.body(body, 200, {
      'content-type': markdown ? 'text/markdown; charset=utf-8' : 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${exportFileName(conversation, markdown ? 'md' : 'json')}"`,
    });
  });

  const templatePath = `${UI_API_PATH}/templates`;
  app.get(templatePath, (c) => c.json({ object: 'list', data: [...BUILT_IN_TEMPLATES, ...stores().templates.list()] satisfies PromptTemplate[] }));
  app.post(templatePath, async (c) => {
    const { name, prompt } = await parseJsonBody(c.req.raw, TemplateFields);
    return c.json(stores().templates.add(name, prompt));
  });
  app.delete(`${templatePath}/:id`, (c) => {
    const id = c.req.param('id');
    stores().templates.delete(id);
    return c.json({ id, object: 'template', deleted: true });
  });

  app.post(DOCUMENTS_PATH, async (c) => {
    const { file } = parseValue(DocumentUpload, await c.req.parseBody());
    const document = await extractDocumentText(file.name, new Uint8Array(await file.arrayBuffer()));
    return c.json({ object: 'document', ...document, chars: document.text.length });
  });
}
