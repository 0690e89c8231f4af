import { Worker } from 'node:worker_threads';

/** Longest a PDF may take to parse. */
const PDF_TIMEOUT_MS = 30_000;
/** Heap of the parsing thread, in MB: a hostile PDF runs out of it, not the server. */
const PDF_HEAP_MB = 256;

/**
 * Runs in the parsing thread: unpdf (pdf.js built for servers) reads the
 * bytes and sends back the text of each page, or the error's name and
 * message. Plain CommonJS, as a worker's eval'd code is.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const { extractText, getDocumentProxy } = require(workerData.unpdf);
(async () => {
  try {
    const pdf = await getDocumentProxy(new Uint8Array(workerData.bytes), { verbosity: 0, isEvalSupported: false });
    const { text } = await extractText(pdf, { mergePages: false });
    parentPort.postMessage({ pages: text });
  } catch (e) {
    parentPort.postMessage({ error: { name: String(e && e.name), message: String(e && e.message) } });
  }
})();
`;

type WorkerAnswer = { pages: string[] } | { error: { name: string; message: string } };

/** Why a PDF gave no text: not a PDF, broken, encrypted, too big or slow to parse. */
export class PdfError extends Error {}

/**
 * The text of a PDF, page by page, parsed in a worker thread (a large PDF
 * does not hold up the event loop; its memory and time are bounded).
 */
export function pdfPages(bytes: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { bytes, unpdf: require.resolve('unpdf') },
      resourceLimits: { maxOldGenerationSizeMb: PDF_HEAP_MB },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () => settle(() => reject(new PdfError(`parsing took longer than ${PDF_TIMEOUT_MS / 1000} s`))),
      PDF_TIMEOUT_MS,
    );
    worker.once('message', (answer: WorkerAnswer) =>
      settle(() => ('pages' in answer ? resolve(answer.pages) : reject(new PdfError(describe(answer.error))))),
    );
    worker.once('error', (e: Error & { code?: string }) =>
      settle(() =>
        reject(
          e.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new PdfError('it needs more memory than a document may use')
            : new PdfError(e.message),
        ),
      ),
    );
    worker.once('exit', () => settle(() => reject(new PdfError('the parser stopped'))));
  });
}

function describe(error: { name: string; message: string }): string {
  if (error.name === 'PasswordException') return 'it is encrypted (password protected)';
  if (error.name === 'InvalidPDFException') return 'it is not a valid PDF';
  return error.message || error.name;
}
