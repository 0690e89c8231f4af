import { chunkDocument, DEFAULT_CHUNK_OPTIONS, markdownSections, splitBySize } from './chunking';
import { csvToText, DocumentError, extractText, htmlToText } from './parse-document';

const options = (over: Partial<typeof DEFAULT_CHUNK_OPTIONS>) => ({ ...DEFAULT_CHUNK_OPTIONS, ...over });

describe('chunking', () => {
  it('splits by size at word boundaries, carrying the overlap over', () => {
    const text = 'one two three four five six seven eight nine ten';
    // Each chunk starts with the trailing words of the previous one that fit in 10 characters.
    expect(splitBySize(text, 20, 10)).toEqual([
      'one two three four',
      'four five six seven',
      'six seven eight',
      'eight nine ten',
    ]);
    for (const chunk of splitBySize('x'.repeat(50), 16, 0)) expect(chunk.length).toBeLessThanOrEqual(16);
  });

  it('splits Markdown at headings outside code fences, with the heading path as metadata', () => {
    const md = '# A\n\nintro\n\n## B\n\n```\n# not a heading\n```\n\n### C\n\ndeep\n\n## D\n\nlast';
    expect(markdownSections(md)).toEqual([
      { headers: { Header1: 'A' }, text: '# A\n\nintro' },
      { headers: { Header1: 'A', Header2: 'B' }, text: '## B\n\n```\n# not a heading\n```' },
      { headers: { Header1: 'A', Header2: 'B', Header3: 'C' }, text: '### C\n\ndeep' },
      { headers: { Header1: 'A', Header2: 'D' }, text: '## D\n\nlast' },
    ]);
    const chunks = chunkDocument(md, 'markdown', DEFAULT_CHUNK_OPTIONS, { source: 'a.md' });
    expect(chunks.map((c) => c.position)).toEqual([0, 1, 2, 3]);
    expect(chunks[3]).toEqual({
      position: 3,
      content: '## D\n\nlast',
      metadata: { source: 'a.md', Header1: 'A', Header2: 'D' },
    });
  });

  it('chunks by paragraph and by separator (merged up to the size when asked)', () => {
    const text = 'p1 line\n\np2 line\n\np3 line';
    expect(chunkDocument(text, 'text', options({ strategy: 'CHUNK_BY_PARAGRAPH' })).map((c) => c.content)).toEqual([
      'p1 line',
      'p2 line',
      'p3 line',
    ]);
    const rows = 'a;b;c;d';
    expect(
      chunkDocument(rows, 'text', options({ strategy: 'CHUNK_BY_SEPARATOR', separator: ';' })).map((c) => c.content),
    ).toEqual(['a', 'b', 'c', 'd']);
    expect(
      chunkDocument(
        rows,
        'text',
        options({ strategy: 'CHUNK_BY_SEPARATOR', separator: ';', enableMerge: true, chunkSize: 4 }),
      ).map((c) => c.content),
    ).toEqual(['a;b;', 'c;d']);
  });
});

describe('parsing', () => {
  it('reads HTML as text with headings, without scripts and styles', () => {
    expect(htmlToText('<h2>T&amp;C</h2><p>Body <b>bold</b></p><script>x()</script><style>p{}</style>')).toBe(
      '## T&C\n\nBody bold',
    );
  });

  it('reads CSV rows as paragraphs and refuses broken CSV or binary text', async () => {
    expect(csvToText('a,b\n1,2\n3,4\n', 'x.csv')).toBe('a: 1\nb: 2\n\na: 3\nb: 4');
    expect(() => csvToText('a,b\n1,2,3\n', 'x.csv')).toThrow(DocumentError);
    await expect(extractText(Buffer.from([0xc3, 0x28]), 'text', 'bad.txt')).rejects.toThrow(
      '"bad.txt" is not valid UTF-8 text.',
    );
  });
});
