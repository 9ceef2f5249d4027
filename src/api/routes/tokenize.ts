import type { Hono } from 'hono';
import { renderChat } from '../chat/render-chat.js';
import type { AppEnv } from '../http/app-env.js';
import { DetokenizeRequest, TokenizeRequest, type DetokenizeResponse, type TokenizeResponse } from '../schemas/tokenize.js';
import { parseJsonBody } from '../validation/parse-body.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName, checkTokenIds } from './served-model.js';

/** POST /tokenize and /detokenize, as vLLM has them. */
export function registerTokenize(app: Hono<AppEnv>, options: RouteOptions): void {
  app.post('/tokenize', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, TokenizeRequest);
    checkModelName(model, body.model);
    const tokens = body.messages
      ? (
          await renderChat(model.prompts, body.messages, {
            addGenerationPrompt: body.add_generation_prompt ?? true,
            enableThinking: body.chat_template_kwargs?.enable_thinking,
          })
        ).tokenIds
      : await model.prompts.encode(body.prompt ?? '', { addSpecialTokens: body.add_special_tokens ?? true });
    const response: TokenizeResponse = {
      count: tokens.length,
      max_model_len: model.engine.info.contextLimit,
      tokens,
      token_strs: body.return_token_strs ? tokens.map((id) => model.tokenizer.tokenText(id)) : null,
    };
    return c.json(response);
  });
  app.post('/detokenize', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, DetokenizeRequest);
    checkModelName(model, body.model);
    checkTokenIds(model, body.tokens, 'tokens');
    const response: DetokenizeResponse = { prompt: model.tokenizer.decode(body.tokens) };
    return c.json(response);
  });
}
