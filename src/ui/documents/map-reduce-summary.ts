/**
 * Summarising a document longer than the model's context, map-reduce: the text is cut into parts
 * that fit, each part is summarised on its own (map), and the part summaries are combined
 * (reduce), in rounds while they are still too long for one prompt. The last prompt is handed back
 * rather than run, so the page can stream it into the chat and a script can just complete it.
 *
 * Shared by the chat page (bundled for the browser) and examples/summarize-document.ts: no DOM,
 * no Node, only a `complete` function that runs one prompt.
 */

/**
 * Characters per token assumed when sizing prompts without the tokenizer. Qwen3's tokenizer
 * averages about 4 characters per token on English prose; 3 leaves room for numbers, code and
 * other languages, which cost more tokens per character.
 */
export const CHARS_PER_TOKEN = 3;
/** Tokens of the chat template and the instruction wrapped around each part. */
const PROMPT_OVERHEAD_TOKENS = 96;

export interface SummaryProgress {
  phase: 'map' | 'reduce';
  /** Prompts of this round answered so far. */
  done: number;
  total: number;
  /** 1 for the map round, then 2, 3... for each reduce round. */
  round: number;
}

export interface MapReduceOptions {
  /** Runs one prompt as a single user message with this max_tokens and answers the model's text. */
  complete(prompt: string, maxTokens: number): Promise<string>;
  /** The model's context in tokens (max_model_len of /v1/models). */
  contextTokens: number;
  /** max_tokens of each call (part summaries and the final answer alike). */
  answerTokens: number;
  /** What the user wants of the document, e.g. "Summarise this contract". */
  instruction: string;
  /** Characters of the context already taken by what is sent with the final prompt (system prompt, history). */
  reservedChars?: number;
  onProgress?(progress: SummaryProgress): void;
}

export interface SummaryPlan {
  /** The prompt that gives the answer: the document itself when it fits, else its combined part summaries. */
  finalPrompt: string;
  /** How many parts the document was cut into (1: it fitted). */
  parts: number;
}

/** The longest text, in characters, that fits in one prompt beside the answer. */
export function promptBudgetChars(contextTokens: number, answerTokens: number, reservedChars = 0): number {
  return Math.max(0, (contextTokens - answerTokens - PROMPT_OVERHEAD_TOKENS) * CHARS_PER_TOKEN - reservedChars);
}

/** The prompt that asks `instruction` of a whole text. */
export function documentPrompt(instruction: string, title: string, text: string): string {
  return `${instruction}\n\n--- ${title} ---\n${text}`;
}

/**
 * Cuts text into pieces of at most `maxChars`, at the largest boundary that allows it: paragraphs,
 * then lines, then sentences, then words; a single word longer than the limit is cut anyway.
 */
export function splitText(text: string, maxChars: number): string[] {
  if (maxChars < 1) throw new Error(`splitText: maxChars must be positive, got ${maxChars}`);
  const separators = [/\n\s*\n/, /\n/, /(?<=[.!?;])\s+/, /\s+/];
  const pieces = atoms(text.trim(), maxChars, separators);
  // Pack neighbouring atoms greedily: parts as large as allowed, so there are as few as possible.
  const parts: string[] = [];
  let current = '';
  for (const piece of pieces) {
    const joined = current ? `${current}\n${piece}` : piece;
    if (joined.length <= maxChars) current = joined;
    else {
      if (current) parts.push(current);
      current = piece;
    }
  }
  if (current) parts.push(current);
  return parts;
}

/** Pieces of text no longer than maxChars, cut at the first separator (in order) that gets them there. */
function atoms(text: string, maxChars: number, separators: readonly RegExp[]): string[] {
  if (text.length <= maxChars) return text ? [text] : [];
  const [separator, ...finer] = separators;
  if (!separator) {
    const cuts: string[] = [];
    for (let i = 0; i < text.length; i += maxChars) cuts.push(text.slice(i, i + maxChars));
    return cuts;
  }
  return text
    .split(separator)
    .map((piece) => piece.trim())
    .filter(Boolean)
    .flatMap((piece) => atoms(piece, maxChars, finer));
}

/**
 * Summarises the parts of a document that does not fit (map), then combines the summaries in
 * rounds until they fit in one prompt (reduce); answers the final prompt without running it.
 * Parts run one after another: the server batches concurrent requests anyway, and one at a time
 * keeps the other users' requests flowing and the progress honest.
 */
export async function planDocumentSummary(title: string, text: string, options: MapReduceOptions): Promise<SummaryPlan> {
  const wrapper = documentPrompt(options.instruction, title, '').length;
  const finalBudget = promptBudgetChars(options.contextTokens, options.answerTokens, (options.reservedChars ?? 0) + wrapper);
  if (text.length <= finalBudget) return { finalPrompt: documentPrompt(options.instruction, title, text), parts: 1 };

  // A part summary may use at most a quarter of the context, so that several fit in one reduce prompt.
  const partTokens = Math.max(1, Math.min(options.answerTokens, Math.floor(options.contextTokens / 4)));
  const partBudget = promptBudgetChars(options.contextTokens, partTokens, 400);
  if (partBudget < 200) {
    throw new Error(`the model's context (${options.contextTokens} tokens) leaves no room for a part of the document beside ${partTokens} answer tokens`);
  }
  const parts = splitText(text, partBudget);
  let summaries = await runRound(parts, 1, 'map', partTokens, options, (part, i) =>
    `This is part ${i + 1} of ${parts.length} of "${title}". The reader's request for the whole document is: ${options.instruction}\n\n` +
      `Summarise this part for that request, keeping every name, date, amount and obligation it states.\n\n--- part ${i + 1} ---\n${part}`,
  );
  for (let round = 2; ; round++) {
    const combined = summaries.map((summary, i) => `Summary of part ${i + 1}:\n${summary}`).join('\n\n');
    if (combined.length <= finalBudget || summaries.length === 1) {
      return {
        finalPrompt: `${options.instruction}\n\nThe document "${title}" was too long to read at once; below are summaries of its ${parts.length} parts, in order. Answer from them.\n\n${combined}`,
        parts: parts.length,
      };
    }
    const groups = splitText(combined, partBudget);
    if (groups.length >= summaries.length) {
      throw new Error(`the part summaries are too long to combine within the model's context (${options.contextTokens} tokens): lower max_tokens`);
    }
    summaries = await runRound(groups, round, 'reduce', partTokens, options, (group) =>
      `Combine these summaries of consecutive parts of "${title}" into one, keeping every name, date, amount and obligation.\n\n${group}`,
    );
  }
}

async function runRound(
  inputs: readonly string[],
  round: number,
  phase: SummaryProgress['phase'],
  maxTokens: number,
  options: MapReduceOptions,
  prompt: (input: string, index: number) => string,
): Promise<string[]> {
  const outputs: string[] = [];
  options.onProgress?.({ phase, done: 0, total: inputs.length, round });
  for (const [i, input] of inputs.entries()) {
    outputs.push((await options.complete(prompt(input, i), maxTokens)).trim());
    options.onProgress?.({ phase, done: i + 1, total: inputs.length, round });
  }
  return outputs;
}
