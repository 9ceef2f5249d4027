import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { serverOpenApiYaml } from '../openapi-document.js';

/**
 * `qwen3-serve openapi`: writes openapi.yaml from the request and response schemas the server
 * uses, or with --check fails when the file differs (the document is generated, never edited).
 */
export function openApiCommand(): Command {
  return new Command('openapi')
    .description('write the OpenAPI document built from the API schemas')
    .option('--out <file>', 'where to write it', 'openapi.yaml')
    .option('--check', 'write nothing; exit 1 if the file is not what the schemas build')
    .action((flags: { out: string; check?: boolean }, cmd: Command) => {
      const yaml = serverOpenApiYaml();
      if (flags.check) {
        let current = '';
        try {
          current = readFileSync(flags.out, 'utf8');
        } catch {
          // A missing file is stale too.
        }
        if (current !== yaml) cmd.error(`${flags.out} is stale: run qwen3-serve openapi --out ${flags.out}`);
        process.stdout.write(`${flags.out} is up to date\n`);
        return;
      }
      writeFileSync(flags.out, yaml);
      process.stdout.write(`wrote ${flags.out}\n`);
    });
}
