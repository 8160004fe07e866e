import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkTarget, isPublicAddress, isValidAllowListEntry, type AddressPolicy, type HostResolver } from './ssrf.ts';

const PUBLIC_ONLY: AddressPolicy = { allowPrivate: false, allowList: [] };

/** A resolver that fails the test if called: for URLs whose host is a literal address. */
const noDns: HostResolver = async (host) => assert.fail(`no DNS lookup expected, got one for ${host}`);
const answers =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '100.63.255.255', // just below CGNAT
  '100.128.0.0', // just above
  '172.15.255.255',
  '172.32.0.0',
  '192.169.0.1',
  '198.20.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:82b::200e',
  '::ffff:8.8.8.8', // mapped public
  '64:ff9b::808:808', // NAT64 of 8.8.8.8
  '2002:808:808::1', // 6to4 of 8.8.8.8
];

const NOT_PUBLIC = [
  '127.0.0.1',
  '127.255.255.254',
  '10.1.2.3',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '169.254.169.254', // cloud metadata
  '169.254.170.2',
  '100.64.0.1', // CGNAT
  '100.127.255.255',
  '0.0.0.0',
  '0.1.2.3',
  '192.0.0.170',
  '192.0.2.1',
  '198.18.0.1',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
  '::1',
  '::',
  '[::1]',
  '::ffff:127.0.0.1', // IPv4-mapped, dotted and hex
  '::ffff:7f00:1',
  '::ffff:169.254.169.254',
  '::ffff:10.0.0.1',
  '::127.0.0.1', // deprecated IPv4-compatible
  '64:ff9b::7f00:1', // NAT64 of loopback
  '64:ff9b::a9fe:a9fe', // NAT64 of metadata
  '64:ff9b::10.0.0.1',
  '64:ff9b:1::1', // local-use NAT64
  '2002:7f00:1::1', // 6to4 of loopback
  '2002:a00:1::',
  'fc00::1', // unique local
  'fd00:ec2::254', // AWS metadata over IPv6
  'fe80::1', // link-local
  'fe80::1%eth0',
  'fec0::1', // site-local
  'ff02::1', // multicast
  '100::1', // discard
  '2001::1', // Teredo
  '2001:db8::1', // documentation
  '3fff::1',
  // Not addresses at all
  'localhost',
  'example.com',
  '',
  '1.2.3',
  '01.2.3.4',
  '256.1.1.1',
  '::ffff:1.2.3.4.5',
];

describe('isPublicAddress', () => {
  for (const ip of PUBLIC) test(`${ip} is public`, () => assert.equal(isPublicAddress(ip), true));
  for (const ip of NOT_PUBLIC) test(`${JSON.stringify(ip)} is not public`, () => assert.equal(isPublicAddress(ip), false));
});

describe('checkTarget', () => {
  test('a public address is returned as the one to connect to, after a single lookup', async () => {
    let lookups = 0;
    const result = await checkTarget('https://hooks.example.com/x', PUBLIC_ONLY, async () => {
      lookups++;
      return [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }];
    });
    assert.deepEqual(result, { ok: true, address: '93.184.216.34', family: 4 });
    assert.equal(lookups, 1);
    assert.deepEqual(await checkTarget('http://[2606:4700:4700::1111]:8080/', PUBLIC_ONLY, noDns), { ok: true, address: '2606:4700:4700::1111', family: 6 });
  });

  test('localhost is refused through the real resolver', async () => {
    const result = await checkTarget('http://localhost:8080/hook', PUBLIC_ONLY);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.error, 'address_not_allowed');
  });

  test('loopback spelled any way the URL parser accepts is refused without DNS', async () => {
    for (const url of ['http://127.0.0.1/', 'http://0x7f.1/', 'http://2130706433/', 'http://017700000001/', 'http://127.1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0/', 'http://[64:ff9b::127.0.0.1]/', 'http://169.254.169.254/latest/meta-data/']) {
      const result = await checkTarget(url, PUBLIC_ONLY, noDns);
      assert.equal(!result.ok && result.error, 'address_not_allowed', url);
    }
  });

  test('a name is refused if any of its addresses is refused (no picking the good one)', async () => {
    const result = await checkTarget('http://rebind.example/', PUBLIC_ONLY, answers('93.184.216.34', '127.0.0.1'));
    assert.equal(!result.ok && result.error, 'address_not_allowed');
    assert.match(!result.ok ? result.detail : '', /rebind\.example resolves to 127\.0\.0\.1/);
  });

  test('only http and https, without credentials', async () => {
    const cases: [string, string][] = [
      ['ftp://example.com/', 'unsupported_scheme'],
      ['file:///etc/passwd', 'unsupported_scheme'],
      ['gopher://example.com:70/', 'unsupported_scheme'],
      ['javascript:alert(1)', 'unsupported_scheme'],
      ['ws://example.com/', 'unsupported_scheme'],
      ['http://user:pass@example.com/', 'credentials_in_url'],
      ['https://user@example.com/', 'credentials_in_url'],
      ['http://example.com@127.0.0.1/', 'credentials_in_url'],
      ['not a url', 'invalid_url'],
      ['http://', 'invalid_url'],
    ];
    for (const [url, error] of cases) {
      const result = await checkTarget(url, PUBLIC_ONLY, noDns);
      assert.equal(!result.ok && result.error, error, url);
    }
  });

  test('a failed lookup is reported as such', async () => {
    const result = await checkTarget('http://nowhere.invalid/', PUBLIC_ONLY, async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    });
    assert.equal(!result.ok && result.error, 'dns_lookup_failed');
    assert.match(!result.ok ? result.detail : '', /ENOTFOUND/);
    const empty = await checkTarget('http://empty.example/', PUBLIC_ONLY, answers());
    assert.equal(!empty.ok && empty.error, 'dns_lookup_failed');
  });

  test('allowPrivate permits private networks but not cloud metadata', async () => {
    const policy: AddressPolicy = { allowPrivate: true, allowList: [] };
    for (const ip of ['10.0.0.5', '192.168.1.10', '127.0.0.1', 'fd12:3456::1', '100.64.1.1']) {
      assert.equal((await checkTarget('http://internal.example/', policy, answers(ip))).ok, true, ip);
    }
    for (const ip of ['169.254.169.254', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254']) {
      const result = await checkTarget('http://internal.example/', policy, answers(ip));
      assert.equal(!result.ok && result.error, 'address_not_allowed', ip);
    }
    const explicit = await checkTarget('http://169.254.169.254/', { allowPrivate: true, allowList: ['169.254.169.254/32'] }, noDns);
    assert.equal(explicit.ok, true, 'an explicit CIDR overrides');
  });

  test('allow-list CIDRs match their range only, IPv4 also through mapped IPv6', async () => {
    const policy: AddressPolicy = { allowPrivate: false, allowList: ['10.20.0.0/16', '::1/128', '127.0.0.1'] };
    assert.equal((await checkTarget('http://10.20.30.40/', policy, noDns)).ok, true);
    assert.equal((await checkTarget('http://10.21.0.1/', policy, noDns)).ok, false);
    assert.equal((await checkTarget('http://[::1]:9000/', policy, noDns)).ok, true);
    assert.equal((await checkTarget('http://[::ffff:127.0.0.1]/', policy, noDns)).ok, true);
    assert.equal((await checkTarget('http://127.0.0.2/', policy, noDns)).ok, false);
  });

  test('allow-listed host names: exact or *.suffix, case-insensitive, never a look-alike', async () => {
    const policy: AddressPolicy = { allowPrivate: false, allowList: ['hooks.internal', '*.corp.example'] };
    const internal = answers('10.0.0.7');
    for (const url of ['http://hooks.internal/', 'http://HOOKS.internal./', 'https://a.corp.example/', 'https://a.b.corp.example/']) {
      assert.deepEqual(await checkTarget(url, policy, internal), { ok: true, address: '10.0.0.7', family: 4 }, url);
    }
    for (const url of ['http://hooks.internal.evil.example/', 'http://corp.example/', 'http://evilcorp.example/', 'http://xhooks.internal/']) {
      assert.equal((await checkTarget(url, policy, internal)).ok, false, url);
    }
  });

  test('isValidAllowListEntry accepts CIDRs, addresses and host names, nothing else', () => {
    for (const entry of ['10.0.0.0/8', '::1/128', '127.0.0.1', 'fd00::/8', 'hooks.internal', '*.corp.example', 'localhost']) {
      assert.equal(isValidAllowListEntry(entry), true, entry);
    }
    for (const entry of ['10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'http://x', '*', '*.', 'a b', '', 'fe80::1%eth0/64']) {
      assert.equal(isValidAllowListEntry(entry), false, entry);
    }
  });
});
