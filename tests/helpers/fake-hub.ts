import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

/**
 * A local stand-in for the Hugging Face hub, serving one repository from a folder with the
 * endpoints the @huggingface/hub client uses to download: the tree listing, paths-info, and
 * `resolve` with byte ranges. Enough to exercise the real download path without the network.
 */
export class FakeHub {
  /** Requests seen, as "METHOD path". */
  readonly requests: string[] = [];
  private readonly server: Server;
  private readonly commit = 'a'.repeat(40);

  private constructor(private readonly repo: string, private readonly root: string) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(repo: string, root: string): Promise<FakeHub> {
    const hub = new FakeHub(repo, root);
    await new Promise<void>((resolve) => hub.server.listen(0, '127.0.0.1', resolve));
    return hub;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(url.pathname);
    this.requests.push(`${req.method} ${path}`);
    const api = `/api/models/${this.repo}`;
    if (req.method === 'GET' && path.startsWith(`${api}/tree/main`)) {
      const sub = path.slice(`${api}/tree/main`.length).replace(/^\//, '');
      return this.json(res, this.entries(sub, url.searchParams.get('recursive') === 'true'));
    }
    if (req.method === 'POST' && path === `${api}/paths-info/main`) {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const { paths } = JSON.parse(body) as { paths: string[] };
        this.json(res, paths.map((p) => ({ ...this.fileEntry(p), lastCommit: { id: this.commit, title: 'upload', date: '2026-01-01T00:00:00Z' } })));
      });
      return;
    }
    const resolve = `/${this.repo}/resolve/main/`;
    if (req.method === 'GET' && path.startsWith(resolve)) return this.sendFile(req, res, path.slice(resolve.length));
    res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end();
  }

  private entries(sub: string, recursive: boolean): object[] {
    const out: object[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(join(this.root, dir)).sort()) {
        const rel = dir ? `${dir}/${name}` : name;
        if (statSync(join(this.root, rel)).isDirectory()) {
          out.push({ type: 'directory', path: rel, oid: hash(rel), size: 0 });
          if (recursive) walk(rel);
        } else {
          out.push(this.fileEntry(rel));
        }
      }
    };
    walk(sub);
    return out;
  }

  private fileEntry(rel: string): object {
    const size = statSync(join(this.root, rel)).size;
    return { type: 'file', path: rel, size, oid: hash(`${rel}:${size}`) };
  }

  private sendFile(req: IncomingMessage, res: ServerResponse, rel: string): void {
    const file = join(this.root, rel);
    if (relative(this.root, file).startsWith('..')) return void res.writeHead(400).end();
    const size = statSync(file).size;
    res.setHeader('ETag', `"${hash(`${rel}:${size}`)}"`);
    const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { 'Content-Length': size });
      createReadStream(file).pipe(res);
      return;
    }
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    res.writeHead(206, { 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    createReadStream(file, { start, end }).pipe(res);
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
