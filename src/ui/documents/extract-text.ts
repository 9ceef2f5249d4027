import { extractText as extractPdfText, getDocumentProxy } from 'unpdf';
import { ServeError } from '../../errors.js';

/** What an uploaded document turned into. */
export interface ExtractedDocument {
  filename: string;
  kind: 'pdf' | 'text';
  text: string;
  /** PDF pages; null for text files. */
  pages: number | null;
}

/** Every PDF starts with this signature (ISO 32000-1, 7.5.2); the name alone is not trusted. */
const PDF_SIGNATURE = '%PDF-';

/**
 * The text of an uploaded TXT, MD or PDF file. PDFs go through unpdf (PDF.js built for servers),
 * pages joined by blank lines; text files must be UTF-8. Scanned PDFs (images only) have no text
 * layer, which is refused rather than summarised as nothing.
 */
export async function extractDocumentText(filename: string, bytes: Uint8Array): Promise<ExtractedDocument> {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, PDF_SIGNATURE.length));
  if (head === PDF_SIGNATURE) {
    let pages: string[];
    try {
      // verbosity 0: PDF.js would print its repair warnings about damaged files on the server's stderr.
      const pdf = await getDocumentProxy(bytes, { verbosity: 0 });
      pages = (await extractPdfText(pdf, { mergePages: false })).text;
    } catch (err) {
      throw new ServeError('invalid_request_error', `${filename} could not be read as a PDF: ${(err as Error).message}`, { param: 'file', code: 'invalid_pdf' });
    }
    const text = pages.map((page) => page.trim()).filter(Boolean).join('\n\n');
    if (!text) throw new ServeError('invalid_request_error', `${filename} has no text layer (a scanned PDF?); nothing to read`, { param: 'file', code: 'no_text' });
    return { filename, kind: 'pdf', text, pages: pages.length };
  }
  if (!/\.(txt|md|markdown|text)$/i.test(filename)) {
    throw new ServeError('invalid_request_error', `${filename}: only .txt, .md and .pdf documents are read`, { param: 'file', code: 'unsupported_document' });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ServeError('invalid_request_error', `${filename} is not UTF-8 text`, { param: 'file', code: 'invalid_text' });
  }
  return { filename, kind: 'text', text: text.replace(/^\uFEFF/, ''), pages: null };
}
