import { BUILDER_FIXTURE_DIR, BUILDER_FIXTURE_NOTE, HAS_BUILDER_FIXTURE } from './helpers/fixture.js';
import { describeRunnerOnFp16Model } from './helpers/fp16-runner-suite.js';

// The builder's own fixture: its int32 ids, fp16 KV and logits are the paths the default exports do
// not take. tests/runner-fp16-export.test.ts runs the same checks on the project's own fp16 export.
describeRunnerOnFp16Model(
  `OnnxRunner on the onnxruntime-genai builder fixture${BUILDER_FIXTURE_NOTE}`,
  BUILDER_FIXTURE_DIR,
  { contextLength: 128, eosTokenIds: [2], hasTokenizer: false, numLayers: 2, kvHeads: 2, headDim: 16, vocabSize: 1000, logitTolerance: 0 },
  { skip: !HAS_BUILDER_FIXTURE },
);
