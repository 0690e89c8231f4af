import { fetchUrlDocument, isPrivateAddress, UrlDocumentError } from './url-fetch';

describe('URL documents: address and host rules', () => {
  it('knows the private, loopback, link-local and reserved ranges (IPv4 and IPv6)', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
    ])
      expect([address, isPrivateAddress(address)]).toEqual([address, true]);
    for (const address of ['93.184.216.34', '8.8.8.8', '::ffff:808:808', '2606:4700:4700::1111', 'example.com'])
      expect([address, isPrivateAddress(address)]).toEqual([address, false]);
  });

  const refusal = (url: string, allowlist: string[]) =>
    fetchUrlDocument(url, { allowlist, maxBytes: 1000, timeoutMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e as UrlDocumentError,
    );

  it('matches hosts exactly, subdomains only through *., ports when named; a wildcard never matches an address', async () => {
    expect(await refusal('http://evil-example.com/', ['example.com'])).toMatchObject({ kind: 'not_allowed' });
    expect(await refusal('http://example.com/', ['*.example.com'])).toMatchObject({ kind: 'not_allowed' });
    expect(await refusal('http://example.com:8080/', ['example.com:80'])).toMatchObject({ kind: 'not_allowed' });
    expect(await refusal('http://127.0.0.1/', ['*.0.0.1'])).toMatchObject({ kind: 'not_allowed' });
    expect(await refusal('ftp://example.com/', ['example.com'])).toMatchObject({ kind: 'not_allowed' });
    // A listed name that resolves to loopback is refused before any connection.
    const local = await refusal('http://localhost:9/', ['localhost']);
    expect(local).toMatchObject({ kind: 'not_allowed' });
    expect(local?.message).toContain('resolves to a private address');
  });
});
