/**
 * llama.cpp (CPU build, 2 threads) on a model of Qwen3-4B's exact shape on this machine type, as
 * DESIGN.md records it: the peer to beat. Prefill is at 512 tokens. (With its AMX kernels enabled
 * llama.cpp prefills at 38 tok/s for both Q4_0 and Q8_0.)
 */
export const LLAMA_CPP_REFERENCE = {
  Q4_0: { decodeTokPerSec: 5.9, prefill512TokPerSec: 21.7 },
  Q4_K_M: { decodeTokPerSec: 5.4, prefill512TokPerSec: 20.0 },
  Q8_0: { decodeTokPerSec: 3.4, prefill512TokPerSec: 13 },
} as const;

export type LlamaCppPeer = keyof typeof LLAMA_CPP_REFERENCE;
