/**
 * Stop strings (the request's `stop`), matched on the detokenized text as it streams. A stop string may
 * span any number of tokens, so text that could be the start of one is held back until the
 * following text decides it; the stop string itself is never emitted.
 *
 * Each stop string runs its own Knuth-Morris-Pratt matcher over the stream, so a piece costs time
 * in proportion to its length whatever the stop strings' lengths, and the held-back text is
 * exactly the longest tail of the output that is still the beginning of some stop string.
 *
 * Which stop wins when several occur: the one that is complete first in the stream (the smallest
 * end position), and of those ending at the same character the longest (it starts earliest). This
 * is what matching one character at a time would do, so the outcome never depends on how the
 * text happens to be cut into pieces.
 */

export type StopMatchResult =
  /** No stop yet: emit `text` (possibly '' while a candidate is held back). */
  | { stopped: false; text: string }
  /** A stop string completed: emit `text`, the output up to where `stop` begins, and end. */
  | { stopped: true; text: string; stop: string };

/** One stop string's KMP automaton. */
class StopAutomaton {
  readonly stop: string;
  /** failure[i]: length of the longest proper border of stop[0..i]. */
  private readonly failure: Int32Array;
  /** Length of the longest tail of the stream so far that is a prefix of `stop`. */
  matched = 0;

  constructor(stop: string) {
    this.stop = stop;
    this.failure = new Int32Array(stop.length);
    for (let i = 1, k = 0; i < stop.length; i++) {
      while (k > 0 && stop.charCodeAt(i) !== stop.charCodeAt(k)) k = this.failure[k - 1];
      if (stop.charCodeAt(i) === stop.charCodeAt(k)) k++;
      this.failure[i] = k;
    }
  }

  /** Advances by one UTF-16 code unit; true when the whole stop string has just been seen. */
  advance(codeUnit: number): boolean {
    let k = this.matched;
    // A completed match never stays completed: the stream stops there.
    while (k > 0 && codeUnit !== this.stop.charCodeAt(k)) k = this.failure[k - 1];
    if (codeUnit === this.stop.charCodeAt(k)) k++;
    this.matched = k;
    return k === this.stop.length;
  }
}

export class StopStringMatcher {
  private readonly automata: StopAutomaton[];
  /** Output not yet emitted: the tail that may still turn out to be the start of a stop string. */
  private held = '';
  private emittedText = '';
  private stoppedBy: string | null = null;

  constructor(stops: readonly string[]) {
    this.automata = stops.map((s) => new StopAutomaton(s));
  }

  /** Everything emitted so far; after a stop, the final (truncated) output. */
  get emitted(): string {
    return this.emittedText;
  }

  /** The stop string that ended the output, once one has. */
  get stop(): string | null {
    return this.stoppedBy;
  }

  /** Takes the next piece of detokenized text. */
  push(piece: string): StopMatchResult {
    if (this.stoppedBy !== null) throw new Error('StopStringMatcher: text pushed after a stop string matched');
    if (this.automata.length === 0) {
      this.emittedText += piece;
      return { stopped: false, text: piece };
    }
    const buffer = this.held + piece;
    for (let i = this.held.length; i < buffer.length; i++) {
      const codeUnit = buffer.charCodeAt(i);
      let winner: StopAutomaton | null = null;
      for (const automaton of this.automata) {
        if (automaton.advance(codeUnit) && (winner === null || automaton.stop.length > winner.stop.length)) {
          winner = automaton;
        }
      }
      if (winner !== null) {
        // Every partial match lies inside the held tail, so the stop starts within `buffer`.
        const text = buffer.slice(0, i + 1 - winner.stop.length);
        this.emittedText += text;
        this.held = '';
        this.stoppedBy = winner.stop;
        return { stopped: true, text, stop: winner.stop };
      }
    }
    let holdLength = 0;
    for (const automaton of this.automata) holdLength = Math.max(holdLength, automaton.matched);
    const text = buffer.slice(0, buffer.length - holdLength);
    this.held = buffer.slice(buffer.length - holdLength);
    this.emittedText += text;
    return { stopped: false, text };
  }

  /** Generation ended without a stop string: the held tail is ordinary output after all. */
  flush(): string {
    const text = this.held;
    this.held = '';
    for (const automaton of this.automata) automaton.matched = 0;
    this.emittedText += text;
    return text;
  }
}
