import { parse as parseCsv } from 'csv-parse/sync';
import { Parser } from 'htmlparser2';
import mammoth from 'mammoth';
import { extname } from 'node:path';
import { pdfPages, PdfError } from './pdf-text';

/** The formats a document's file may have. */
export const DOCUMENT_FORMATS = ['text', 'markdown', 'html', 'csv', 'docx', 'pdf'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

const BY_EXTENSION: Record<string, DocumentFormat> = {
  '.txt': 'text',
  '.text': 'text',
  '.log': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.csv': 'csv',
  '.docx': 'docx',
  '.pdf': 'pdf',
};

const BY_MIME: Record<string, DocumentFormat> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'text/csv': 'csv',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/pdf': 'pdf',
};

/** Why a file cannot be indexed: its kind is not supported (415) or its content is broken (400). */
export class DocumentError extends Error {
  constructor(
    readonly kind: 'unsupported' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

/** The format of a file from its name's extension, else its media type; undefined when neither is known. */
export function detectFormat(fileName: string, mimeType?: string): DocumentFormat | undefined {
  const byName = BY_EXTENSION[extname(fileName).toLowerCase()];
  if (byName) return byName;
  return mimeType ? BY_MIME[mimeType.split(';')[0].trim().toLowerCase()] : undefined;
}

/** Bytes as UTF-8 text; a file that is not text (NUL bytes, invalid UTF-8) is corrupt. */
function decodeText(bytes: Buffer, fileName: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DocumentError('corrupt', `${JSON.stringify(fileName)} is not valid UTF-8 text.`);
  }
  if (text.includes('\u0000')) throw new DocumentError('corrupt', `${JSON.stringify(fileName)} is not a text file.`);
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

const BLOCK_TAGS = new Set([
  'p', 'div', 'br', 'li', 'ul', 'ol', 'tr', 'table', 'section', 'article', 'header', 'footer',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'title', 'dd', 'dt',
]); // prettier-ignore
const SKIPPED_TAGS = new Set(['script', 'style', 'noscript', 'template']);

/**
 * The readable text of an HTML page: headings become Markdown headings (so
 * the by-header chunker sees the structure), blocks become paragraphs,
 * scripts and styles are dropped.
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  let skip = 0;
  let heading = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIPPED_TAGS.has(name)) skip++;
        if (/^h[1-6]$/.test(name)) {
          heading = Number(name[1]);
          out.push(`\n\n${'#'.repeat(heading)} `);
        } else if (BLOCK_TAGS.has(name)) out.push('\n\n');
      },
      ontext(text) {
        if (!skip) out.push(heading ? text.replace(/\s+/g, ' ') : text);
      },
      onclosetag(name) {
        if (SKIPPED_TAGS.has(name)) skip--;
        if (/^h[1-6]$/.test(name)) heading = 0;
        if (BLOCK_TAGS.has(name)) out.push('\n\n');
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  return out
    .join('')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A CSV table as one paragraph per row, `column: value` per line (the header row names the columns). */
export function csvToText(csv: string, fileName: string): string {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv<Record<string, string>>(csv, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (e) {
    throw new DocumentError('corrupt', `${JSON.stringify(fileName)} is not valid CSV: ${(e as Error).message}`);
  }
  return rows
    .map((row) =>
      Object.entries(row)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    )
    .join('\n\n');
}

/** The text of a Word (.docx) file, a paragraph per block; a file that is not one is corrupt. */
async function docxToText(bytes: Buffer, fileName: string): Promise<string> {
  try {
    const { value } = await mammoth.extractRawText({ buffer: bytes });
    return value
      .replace(/\r\n?/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  } catch {
    throw new DocumentError('corrupt', `${JSON.stringify(fileName)} is not a readable Word (.docx) document.`);
  }
}

/** The text of a PDF, a paragraph per page; a file that is not one (or cannot be read) is corrupt. */
async function pdfToText(bytes: Buffer, fileName: string): Promise<string> {
  try {
    return (await pdfPages(bytes))
      .map((page) => page.replace(/[ \t]+\n/g, '\n').trim())
      .filter(Boolean)
      .join('\n\n');
  } catch (e) {
    if (!(e instanceof PdfError)) throw e;
    throw new DocumentError('corrupt', `${JSON.stringify(fileName)} is not a readable PDF: ${e.message}.`);
  }
}

/**
 * The text of a document file in its format: Markdown and plain text as they
 * are, HTML as readable text, CSV as one paragraph per row, Word through
 * mammoth, PDF through unpdf (pdf.js) in a worker thread. Empty content is corrupt: there is nothing to index.
 */
export async function extractText(bytes: Buffer, format: DocumentFormat, fileName: string): Promise<string> {
  let text: string;
  switch (format) {
    case 'text':
    case 'markdown':
      text = decodeText(bytes, fileName);
      break;
    case 'html':
      text = htmlToText(decodeText(bytes, fileName));
      break;
    case 'csv':
      text = csvToText(decodeText(bytes, fileName), fileName);
      break;
    case 'docx':
      text = await docxToText(bytes, fileName);
      break;
    case 'pdf':
      text = await pdfToText(bytes, fileName);
      break;
  }
  if (!text.trim()) throw new DocumentError('corrupt', `${JSON.stringify(fileName)} has no text to index.`);
  return text;
}
