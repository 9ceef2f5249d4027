import { getRandomValues } from 'node:crypto';

/**
 * xoshiro128** (Blackman and Vigna): 128 bits of state in four 32-bit words, a 2^128 - 1 period,
 * fast in JavaScript's 32-bit integer arithmetic. The sampler gives each request its own stream,
 * so what it draws never depends on which other requests share the batch; the random weight
 * source gives each tensor its own.
 */
export class RandomStream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(words: Uint32Array) {
    this.s0 = words[0] | 0;
    this.s1 = words[1] | 0;
    this.s2 = words[2] | 0;
    this.s3 = words[3] | 0;
    // The all-zero state is the generator's one fixed point.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * The stream for an API `seed` (any safe integer, negative included): its 64 bits are spread
   * over the state by SplitMix32, so nearby seeds give unrelated streams.
   */
  static fromSeed(seed: number): RandomStream {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const low = Number(BigInt.asUintN(32, BigInt(seed)));
    const high = Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
    let state = low ^ Math.imul(high, 0x85ebca6b);
    const splitMix32 = () => {
      state = (state + 0x9e3779b9) | 0;
      let z = state ^ (state >>> 16);
      z = Math.imul(z, 0x21f0aaad);
      z ^= z >>> 15;
      z = Math.imul(z, 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    return new RandomStream(Uint32Array.of(splitMix32(), splitMix32() ^ high, splitMix32(), splitMix32()));
  }

  /** A stream continuing from a known state (four 32-bit words, not all zero). */
  static fromState(words: Uint32Array): RandomStream {
    return new RandomStream(words);
  }

  /** A stream seeded from the operating system, for requests without a seed. */
  static fromEntropy(): RandomStream {
    return new RandomStream(getRandomValues(new Uint32Array(4)));
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits; always consumes exactly two words. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
