/**
 * The outbound guard's pure part (src/outbound/address.ts): which addresses and names are refused, how an
 * IPv6 address carrying an IPv4 one is judged, what URL parsing makes of decimal/hex/octal IPv4 literals,
 * the allow-list (addresses, ranges, names, "*." subdomains), `blockPrivateNetworks`, the refusal text and
 * the config's validation of `outboundHttp`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDestination, classifyAddress, formatIp, outboundPolicy, parseAllowEntry, parseIp, refusalDetail } from '../../src/outbound/address.js';
import { configSchema } from '../../src/config/schema.js';
import { runs } from '../fuzz/fc.js';

const defaults = outboundPolicy(undefined);
const strict = outboundPolicy({ blockPrivateNetworks: true });
const ruleOf = (host: string, address?: string, policy = defaults) => checkDestination(host, address, policy)?.rule;

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'cloud-metadata'],
    ['169.254.170.2', 'cloud-metadata'],
    ['100.100.100.200', 'cloud-metadata'],
    ['192.0.0.192', 'cloud-metadata'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['169.254.0.1', 'link-local'],
    ['169.254.255.255', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
  ])('%s is %s', (address, rule) => {
    expect(classifyAddress(address)?.rule).toBe(rule);
  });

  it.each(['8.8.8.8', '172.32.0.1', '172.15.255.255', '169.253.255.255', '169.255.0.0', '100.128.0.1', '2606:4700::1111', 'fec0::1'.replace('fec0', '2001:db8')])('%s is an ordinary address', (address) => {
    expect(classifyAddress(address)?.rule).toBeUndefined();
  });

  it.each([
    ['::ffff:169.254.169.254', 'cloud-metadata', '::ffff:a9fe:a9fe'],
    ['::ffff:a9fe:a9fe', 'cloud-metadata', '::ffff:a9fe:a9fe'],
    ['[::ffff:a9fe:a9fe]', 'cloud-metadata', '::ffff:a9fe:a9fe'],
    ['::169.254.169.254', 'cloud-metadata', '::a9fe:a9fe'],
    ['64:ff9b::169.254.1.1', 'link-local', '64:ff9b::a9fe:101'],
    ['2002:a9fe:a9fe::1', 'cloud-metadata', '2002:a9fe:a9fe::1'],
    ['::ffff:127.0.0.1', 'loopback', '::ffff:7f00:1'],
    ['::ffff:0.0.0.0', 'unspecified', '::ffff:0:0'],
  ])('%s carries an IPv4 address and is judged by it (%s)', (address, rule, canonical) => {
    const c = classifyAddress(address);
    expect(c?.rule).toBe(rule);
    expect(c?.address).toBe(canonical);
    expect(c?.carries).toBeDefined();
  });

  it('is undefined for what is not an address', () => {
    for (const s of ['example.com', '1.2.3', '1.2.3.256', '01.2.3.4x', '', '::g', '1:2:3:4:5:6:7:8:9']) expect(classifyAddress(s)).toBeUndefined();
  });

  it('property: every IPv4 address in 169.254.0.0/16, mapped into IPv6 in any spelling, is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (c, d, hex) => {
        const v6 = hex ? `::ffff:a9fe:${((c << 8) | d).toString(16)}` : `::ffff:169.254.${c}.${d}`;
        for (const a of [`169.254.${c}.${d}`, v6, v6.toUpperCase()]) {
          const rule = ruleOf(a);
          expect(rule === 'link-local' || rule === 'cloud-metadata').toBe(true);
        }
      }),
      runs(200),
    );
  });

  it('property: parse and format agree with Node for any IPv6 address', () => {
    fc.assert(
      fc.property(fc.ipV6(), (a) => {
        const ip = parseIp(a);
        expect(ip).toBeDefined();
        // Node's URL parser writes the canonical (RFC 5952) form.
        expect(formatIp(ip!)).toBe(new URL(`http://[${a}]/`).hostname.slice(1, -1));
      }),
      runs(300),
    );
  });

  it('property: an IPv4 literal in any spelling URL parsing accepts (decimal, hex, octal, short) is refused like its dotted form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom('dec', 'hex', 'oct', 'short'), (low, form) => {
        const n = (0xa9fe << 16) | low; // 169.254.x.y
        const u = n >>> 0;
        const host = form === 'dec' ? String(u) : form === 'hex' ? `0x${u.toString(16)}` : form === 'oct' ? `0${u.toString(8)}` : `169.254.${low}`;
        const parsed = new URL(`http://${host}/`).hostname;
        expect(parsed).toBe(`169.254.${low >> 8}.${low & 0xff}`);
        expect(['link-local', 'cloud-metadata']).toContain(ruleOf(parsed));
      }),
      runs(200),
    );
  });
});

describe('checkDestination', () => {
  it('refuses metadata and link-local by default, lets loopback, private and public through', () => {
    expect(ruleOf('169.254.169.254')).toBe('cloud-metadata');
    expect(ruleOf(new URL('http://2852039166/').hostname)).toBe('cloud-metadata');
    expect(ruleOf(new URL('http://0xA9FEA9FE/').hostname)).toBe('cloud-metadata');
    expect(ruleOf(new URL('http://0251.0376.0251.0376/').hostname)).toBe('cloud-metadata');
    expect(ruleOf(new URL('http://[::ffff:169.254.169.254]/').hostname)).toBe('cloud-metadata');
    expect(ruleOf('evil.example', '169.254.169.254')).toBe('cloud-metadata');
    expect(ruleOf('evil.example', 'fe80::2')).toBe('link-local');
    expect(ruleOf('0.0.0.0')).toBe('unspecified');
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '192.168.0.5', '93.184.216.34']) expect(ruleOf(a)).toBeUndefined();
    expect(ruleOf('localhost', '127.0.0.1')).toBeUndefined();
  });

  it('refuses metadata service names before they are resolved, with or without a trailing dot or capitals', () => {
    for (const h of ['metadata.google.internal', 'METADATA.google.internal.', 'metadata.goog', 'instance-data']) {
      const r = checkDestination(h, undefined, defaults);
      expect(r?.rule).toBe('cloud-metadata');
      expect(r?.address).toBeUndefined();
    }
    expect(checkDestination('example.com', undefined, defaults)).toBeUndefined();
  });

  it('blockPrivateNetworks refuses loopback and private networks as well', () => {
    expect(ruleOf('127.0.0.1', undefined, strict)).toBe('loopback');
    expect(ruleOf('localhost', '::1', strict)).toBe('loopback');
    expect(ruleOf('nas.lan', '192.168.1.20', strict)).toBe('private');
    expect(ruleOf('x', '::ffff:10.0.0.1', strict)).toBe('private');
    expect(ruleOf('93.184.216.34', undefined, strict)).toBeUndefined();
  });

  it('the allow-list permits an address, a range (also as an IPv4-mapped IPv6 address), a name and its subdomains', () => {
    const p = outboundPolicy({ blockPrivateNetworks: true, allow: ['169.254.169.254', '10.0.0.0/8', 'fe80::/10', 'metadata.google.internal', '*.svc.local', 'LOCALHOST'] });
    expect(ruleOf('169.254.169.254', undefined, p)).toBeUndefined();
    expect(ruleOf('[::ffff:a9fe:a9fe]', undefined, p)).toBeUndefined();
    expect(ruleOf('169.254.169.253', undefined, p)).toBe('cloud-metadata');
    expect(ruleOf('x', '10.9.9.9', p)).toBeUndefined();
    expect(ruleOf('x', '::ffff:10.9.9.9', p)).toBeUndefined();
    expect(ruleOf('x', '11.0.0.1', p)).toBeUndefined();
    expect(ruleOf('x', '192.168.0.1', p)).toBe('private');
    expect(ruleOf('x', 'fe80::99', p)).toBeUndefined();
    expect(ruleOf('metadata.google.internal', undefined, p)).toBeUndefined();
    expect(ruleOf('metadata.google.internal', '169.254.169.254', p)).toBeUndefined();
    expect(ruleOf('api.svc.local', '127.0.0.1', p)).toBeUndefined();
    expect(ruleOf('svc.local', '127.0.0.1', p)).toBe('loopback');
    expect(ruleOf('evilsvc.local', '127.0.0.1', p)).toBe('loopback');
    expect(ruleOf('localhost', '127.0.0.1', p)).toBeUndefined();
  });

  it('property: an allow-listed range lets every address in it through, and nothing else changes', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, base, bits) => {
        const p = outboundPolicy({ blockPrivateNetworks: true, allow: [`${base}/${bits}`] });
        const toN = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const inside = ((toN(a) & mask) >>> 0) === ((toN(base) & mask) >>> 0);
        const r = checkDestination('some.host', a, p);
        if (inside) expect(r).toBeUndefined();
        else expect(r).toEqual(checkDestination('some.host', a, strict));
      }),
      runs(300),
    );
  });

  it('the refusal names the address, the rule and the config key that permits it', () => {
    const byName = refusalDetail(checkDestination('evil.example', '169.254.169.254', defaults)!);
    expect(byName).toBe('host evil.example resolves to 169.254.169.254, a cloud metadata address (rule cloud-metadata); add "169.254.169.254" to outboundHttp.allow in the config if this destination is intended');
    const loop = refusalDetail(checkDestination('127.0.0.1', undefined, strict)!);
    expect(loop).toBe('127.0.0.1 is a loopback address (rule loopback); set outboundHttp.blockPrivateNetworks to false or add "127.0.0.1" to outboundHttp.allow in the config');
    expect(refusalDetail(checkDestination('metadata.goog', undefined, defaults)!)).toContain('host metadata.goog is the name of a cloud metadata service (rule cloud-metadata); add "metadata.goog" to outboundHttp.allow');
  });
});

describe('outboundHttp in the config', () => {
  it('accepts addresses, ranges, names and "*." names', () => {
    const r = configSchema.safeParse({ outboundHttp: { allow: ['169.254.169.254', '10.0.0.0/8', 'fd00::/8', 'metadata.google.internal', '*.corp.example'], blockPrivateNetworks: true } });
    expect(r.success).toBe(true);
  });

  it('maxResponseBytes: a whole number of bytes above 0, else refused naming its path; 10 MiB when unset', () => {
    expect(configSchema.safeParse({ outboundHttp: { maxResponseBytes: 1024 } }).success).toBe(true);
    for (const bad of [0, -1, 1.5, '10MB']) {
      const r = configSchema.safeParse({ outboundHttp: { maxResponseBytes: bad } });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['outboundHttp', 'maxResponseBytes']);
      expect(r.error!.issues[0]!.message).toMatch(/bytes/);
    }
    expect(outboundPolicy(undefined).maxResponseBytes).toBe(10 * 1024 * 1024);
    expect(outboundPolicy({ maxResponseBytes: 5 }).maxResponseBytes).toBe(5);
  });

  it('refuses a bad entry naming its path and what is expected', () => {
    for (const bad of ['10.0.0.0/33', 'not a host', 'http://x/', '1.2.3.4/x', '*']) {
      const r = configSchema.safeParse({ outboundHttp: { allow: ['ok.example', bad] } });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['outboundHttp', 'allow', 1]);
      expect(r.error!.issues[0]!.message).toContain('a CIDR range');
    }
    expect('error' in parseAllowEntry('::1/129')).toBe(true);
    const r = configSchema.safeParse({ outboundHttp: { blockPrivateNetworks: 'yes' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['outboundHttp', 'blockPrivateNetworks']);
  });
});
