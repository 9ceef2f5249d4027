import type { CompiledGrammar, GrammarCompiler as XGrammarCompiler } from '@mlc-ai/web-xgrammar';
import { ServeError } from '../../errors.js';
import { grammarKey, type GrammarSpec } from './grammar-spec.js';
import { MAX_JSON_WHITESPACE } from './json-whitespace.js';
import { TokenConstraint } from './token-constraint.js';
import { loadXGrammar, xgrammarReason } from './xgrammar-module.js';

/** The model's vocabulary as xgrammar needs it, read from the tokenizer once. */
export interface GrammarVocabulary {
  /** Vocabulary entries by token id, as `tokenizer.json` writes them (byte-level alphabet for Qwen). */
  entries: readonly string[];
  /** How entries encode bytes: Qwen's BPE is `byte_level`. */
  vocabType: 'byte_level' | 'raw';
  /** Width of a logits row (151936 for Qwen3: wider than the 151669 entries). */
  logitsWidth: number;
  /** Tokens that end the output; a finished grammar allows only these. */
  stopTokenIds: readonly number[];
}

/** Distinct grammars kept compiled; an LRU beyond this many drops the oldest. */
const MAX_CACHED_GRAMMARS = 64;

/**
 * Compiles grammars against the model's vocabulary with xgrammar, caching each by its spec, and
 * hands out per-sequence matchers. Lives on the engine's thread (xgrammar's objects cannot cross
 * threads). Compiling a schema precomputes token masks for the whole vocabulary (about 0.4 s for
 * a small schema and Qwen3's 151k tokens on one core), which is why it happens once per spec.
 */
export class GrammarCompiler {
  private compiler: Promise<XGrammarCompiler> | null = null;
  private stopTokenIds: number[] = [];
  private readonly cache = new Map<string, Promise<CompiledGrammar>>();

  /**
   * `vocabulary` is read on the first constrained request: reading it and building xgrammar's
   * tokenizer info (which decodes every entry, about 0.3 s) is work that servers never seeing
   * one should not pay at start.
   */
  constructor(private readonly vocabulary: () => GrammarVocabulary) {}

  /** One fresh matcher per choice, all from the same compiled grammar. */
  async constraints(spec: GrammarSpec, count: number): Promise<TokenConstraint[]> {
    const compiled = await this.compile(spec);
    const { xgrammar } = loadXGrammar();
    const matchers = [];
    for (let i = 0; i < count; i++) {
      matchers.push(new TokenConstraint(await xgrammar.GrammarMatcher.createGrammarMatcher(compiled, this.stopTokenIds)));
    }
    return matchers;
  }

  private xgrammarCompiler(): Promise<XGrammarCompiler> {
    this.compiler ??= (async () => {
      const vocabulary = this.vocabulary();
      this.stopTokenIds = [...vocabulary.stopTokenIds];
      const { xgrammar } = loadXGrammar();
      const info = await xgrammar.TokenizerInfo.createTokenizerInfo(
        [...vocabulary.entries],
        vocabulary.vocabType,
        false,
        vocabulary.logitsWidth,
        this.stopTokenIds,
      );
      return xgrammar.GrammarCompiler.createGrammarCompiler(info);
    })();
    return this.compiler;
  }

  private compile(spec: GrammarSpec): Promise<CompiledGrammar> {
    const key = grammarKey(spec);
    const cached = this.cache.get(key);
    if (cached) {
      // Refresh its place in the LRU order.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const compiling = this.compileUncached(spec);
    this.cache.set(key, compiling);
    // A refused spec is not kept: the request gets its error and nothing holds the slot.
    compiling.catch(() => this.cache.delete(key));
    while (this.cache.size > MAX_CACHED_GRAMMARS) {
      const oldest = this.cache.keys().next().value as string;
      const evicted = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      // Matchers made from it keep their own reference inside xgrammar; only the handle goes.
      evicted.then((grammar) => grammar.dispose(), () => undefined);
    }
    return compiling;
  }

  private async compileUncached(spec: GrammarSpec): Promise<CompiledGrammar> {
    const compiler = await this.xgrammarCompiler();
    const { withDiagnostics } = loadXGrammar();
    const outcome = await withDiagnostics(() =>
      spec.type === 'json_schema'
        ? compiler.compileJSONSchema(spec.schema, true, undefined, undefined, true, MAX_JSON_WHITESPACE)
        : compiler.compileStructuralTag(spec.tag),
    );
    if (outcome.result) return outcome.result;
    throw new ServeError('invalid_request_error', `the grammar engine cannot handle this output format: ${xgrammarReason(outcome.lines, outcome.error)}`, {
      code: 'unsupported_schema',
    });
  }
}
