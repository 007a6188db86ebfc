import { isIP } from 'node:net';

/**
 * Where outbound HTTP to a user-given URL (workflow `http` tool calls, `notify` webhooks) may go: pure
 * classification of IP addresses and host names, and the decision against `outboundHttp` in the config.
 * No I/O here; src/outbound/request.ts applies it to the address a socket actually connects to.
 *
 * Always refused (unless `outboundHttp.allow` lists the address, its range or the host name):
 * - `cloud-metadata`: instance metadata services (169.254.169.254 and its neighbours, fd00:ec2::254,
 *   100.100.100.200, 192.0.0.192) and their names (metadata.google.internal, …): they hand out cloud
 *   credentials to whoever asks from the machine;
 * - `link-local`: 169.254.0.0/16, fe80::/10;
 * - `unspecified`: 0.0.0.0/8 and `::` (connecting there reaches this machine on Linux);
 * - `multicast` and `reserved` (224.0.0.0/4, 240.0.0.0/4 with the broadcast address, ff00::/8).
 * Refused only with `outboundHttp.blockPrivateNetworks: true`:
 * - `loopback` (127.0.0.0/8, ::1) and `private` (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7,
 *   fec0::/10): self-hosted users call local services (Ollama, a home-lab webhook) on purpose.
 * An IPv6 address that carries an IPv4 one (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96, 2002::/16) is
 * judged by the IPv4 address it carries as well.
 */

export type AddressRule = 'cloud-metadata' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'loopback' | 'private';

/** Rules refused whatever the config says (short of an allow-list entry). */
export const ALWAYS_REFUSED: readonly AddressRule[] = ['cloud-metadata', 'link-local', 'unspecified', 'multicast', 'reserved'];
/** Rules refused when `outboundHttp.blockPrivateNetworks` is true. */
export const PRIVATE_RULES: readonly AddressRule[] = ['loopback', 'private'];

const RULE_TEXT: Record<AddressRule, string> = {
  'cloud-metadata': 'a cloud metadata address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified ("this host") address',
  multicast: 'a multicast address',
  reserved: 'a reserved or broadcast address',
  loopback: 'a loopback address',
  private: 'a private-network address',
};

export function describeRule(rule: AddressRule): string {
  return RULE_TEXT[rule];
}

/** An address as bytes (4 or 16). */
interface Ip {
  v: 4 | 6;
  bytes: number[];
}

function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseV6(input: string): number[] | undefined {
  let s = input.replace(/^\[|\]$/g, '');
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIP(s) !== 6) return undefined;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const groupsWanted = (16 - tail.length) / 2;
  const [head, rest] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest === undefined ? [] : rest ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : groupsWanted - hs.length - rs.length;
  if (fill < 0) return undefined;
  const groups = [...hs, ...Array<string>(fill).fill('0'), ...rs];
  if (groups.length !== groupsWanted) return undefined;
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  return [...bytes, ...tail];
}

/** Parses an IPv4 (dotted quad) or IPv6 address (brackets and a zone id allowed); undefined for anything else. */
export function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4) return { v: 4, bytes: v4 };
  const v6 = parseV6(s);
  return v6 ? { v: 6, bytes: v6 } : undefined;
}

/** Canonical text of an address (IPv6 zero-compressed as Node writes it). */
export function formatIp(ip: Ip): string {
  if (ip.v === 4) return ip.bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0));
  // The longest run of two or more zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function inPrefix(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((bytes[byte] ?? 0) & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

type Range = [number[], number];
const cidr = (s: string): Range => {
  const [a, b] = s.split('/') as [string, string];
  return [parseIp(a)!.bytes, Number(b)];
};

const V4_RULES: Array<[AddressRule, Range[]]> = [
  ['cloud-metadata', ['169.254.169.254/32', '169.254.169.253/32', '169.254.170.2/32', '169.254.170.23/32', '100.100.100.200/32', '192.0.0.192/32'].map(cidr)],
  ['link-local', [cidr('169.254.0.0/16')]],
  ['unspecified', [cidr('0.0.0.0/8')]],
  ['loopback', [cidr('127.0.0.0/8')]],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map(cidr)],
  ['multicast', [cidr('224.0.0.0/4')]],
  ['reserved', [cidr('240.0.0.0/4')]],
];
const V6_RULES: Array<[AddressRule, Range[]]> = [
  ['cloud-metadata', [cidr('fd00:ec2::254/128')]],
  ['unspecified', [cidr('::/128')]],
  ['loopback', [cidr('::1/128')]],
  ['link-local', [cidr('fe80::/10')]],
  ['private', ['fc00::/7', 'fec0::/10'].map(cidr)],
  ['multicast', [cidr('ff00::/8')]],
];

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedV4(ip: Ip): Ip | undefined {
  if (ip.v !== 6) return undefined;
  const b = ip.bytes;
  const last4 = b.slice(12, 16);
  if (inPrefix(b, cidr('::ffff:0:0/96')[0], 96)) return { v: 4, bytes: last4 };
  if (inPrefix(b, cidr('64:ff9b::/96')[0], 96)) return { v: 4, bytes: last4 };
  // IPv4-compatible (::a.b.c.d, deprecated); `::` and `::1` are themselves.
  if (inPrefix(b, new Array<number>(16).fill(0), 96) && !(last4[0] === 0 && last4[1] === 0 && last4[2] === 0 && (last4[3] ?? 0) <= 1)) return { v: 4, bytes: last4 };
  if (inPrefix(b, cidr('2002::/16')[0], 16)) return { v: 4, bytes: b.slice(2, 6) };
  return undefined;
}

function ruleOf(ip: Ip): AddressRule | undefined {
  for (const [rule, ranges] of ip.v === 4 ? V4_RULES : V6_RULES) {
    if (ranges.some(([p, bits]) => inPrefix(ip.bytes, p, bits))) return rule;
  }
  return undefined;
}

export interface AddressClass {
  /** Canonical text of the address. */
  address: string;
  /** The rule it falls under (undefined: an ordinary public address). */
  rule?: AddressRule;
  /** For an IPv6 address carrying an IPv4 one: that IPv4 address. */
  carries?: string;
}

/** Classifies an IP address; undefined when `s` is not one. The rule of a carried IPv4 address wins over the IPv6 one's. */
export function classifyAddress(s: string): AddressClass | undefined {
  const ip = parseIp(s);
  if (!ip) return undefined;
  const out: AddressClass = { address: formatIp(ip) };
  const v4 = embeddedV4(ip);
  const rule = (v4 && ruleOf(v4)) ?? ruleOf(ip);
  if (v4) out.carries = formatIp(v4);
  if (rule) out.rule = rule;
  return out;
}

/** Host names of metadata services, refused before they are resolved (lower case, no trailing dot). */
export const METADATA_HOSTS: readonly string[] = ['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal'];

/** A URL host as compared: lower case, without brackets and trailing dots. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.+$/, '');
}

// ───────────────────────────── the allow-list ─────────────────────────────

export type AllowEntry = { kind: 'range'; v: 4 | 6; bytes: number[]; bits: number; text: string } | { kind: 'host'; name: string; subdomains: boolean; text: string };

const HOST_RE = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;

/**
 * One `outboundHttp.allow` entry: an IP address ("169.254.169.254", "fd00:ec2::254"), a CIDR range
 * ("10.0.0.0/8", "fe80::/10"), a host name ("metadata.google.internal") or "*.name" for its subdomains.
 * Returns a message saying what is expected when the entry is none of these.
 */
export function parseAllowEntry(text: string): AllowEntry | { error: string } {
  const expected = 'an IP address ("169.254.169.254"), a CIDR range ("10.0.0.0/8", "fe80::/10"), a host name ("metadata.google.internal") or "*.example.com"';
  const t = text.trim();
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(t.slice(0, slash));
    const bitsText = t.slice(slash + 1);
    const max = ip?.v === 4 ? 32 : 128;
    if (!ip || !/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) return { error: expected };
    return { kind: 'range', v: ip.v, bytes: ip.bytes, bits: Number(bitsText), text };
  }
  const ip = parseIp(t);
  if (ip) return { kind: 'range', v: ip.v, bytes: ip.bytes, bits: ip.v === 4 ? 32 : 128, text };
  if (!HOST_RE.test(t) || t.length > 253) return { error: expected };
  const subdomains = t.startsWith('*.');
  return { kind: 'host', name: normalizeHost(subdomains ? t.slice(2) : t), subdomains, text };
}

export interface OutboundPolicy {
  allow: readonly AllowEntry[];
  blockPrivateNetworks: boolean;
  /** The most an answer's body may hold, decoded (gzip, deflate, br): a larger one fails the call. */
  maxResponseBytes: number;
}

/** `outboundHttp.maxResponseBytes` when unset: 10 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export const DEFAULT_POLICY: OutboundPolicy = { allow: [], blockPrivateNetworks: false, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES };

/** The policy of the config's `outboundHttp` block (entries are validated by the schema; a bad one is skipped here). */
export function outboundPolicy(cfg: { allow?: readonly string[]; blockPrivateNetworks?: boolean; maxResponseBytes?: number } | undefined): OutboundPolicy {
  const allow: AllowEntry[] = [];
  for (const t of cfg?.allow ?? []) {
    const e = parseAllowEntry(t);
    if (!('error' in e)) allow.push(e);
  }
  return { allow, blockPrivateNetworks: cfg?.blockPrivateNetworks ?? false, maxResponseBytes: cfg?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES };
}

function hostAllowed(host: string, allow: readonly AllowEntry[]): AllowEntry | undefined {
  const h = normalizeHost(host);
  return allow.find((e) => e.kind === 'host' && (e.subdomains ? h.endsWith(`.${e.name}`) : e.name === h));
}

function addressAllowed(address: string, allow: readonly AllowEntry[]): AllowEntry | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  const forms = [ip];
  const v4 = embeddedV4(ip);
  if (v4) forms.push(v4);
  return allow.find((e) => e.kind === 'range' && forms.some((f) => f.v === e.v && inPrefix(f.bytes, e.bytes, e.bits)));
}

export interface Refusal {
  /** The host of the URL, as written there (normalized). */
  host: string;
  /** The address that was refused (the literal, or what the name resolved to); absent for a refused name. */
  address?: string;
  rule: AddressRule;
  /** What to add to `outboundHttp.allow` to permit it. */
  allowWith: string;
}

/**
 * Whether a connection to `address` (already resolved; undefined: judge the name alone, before resolving)
 * for the URL host `host` is refused under `policy`. An allow-list entry for the host name permits every
 * address it resolves to; an entry for an address or range permits that address under any name.
 */
export function checkDestination(host: string, address: string | undefined, policy: OutboundPolicy): Refusal | undefined {
  const h = normalizeHost(host);
  if (hostAllowed(h, policy.allow)) return undefined;
  if (address === undefined) {
    if (METADATA_HOSTS.includes(h)) return { host: h, rule: 'cloud-metadata', allowWith: h };
    const literal = classifyAddress(h);
    if (!literal) return undefined;
    address = literal.address;
  }
  if (addressAllowed(address, policy.allow)) return undefined;
  const c = classifyAddress(address);
  if (!c?.rule) return undefined;
  const refused = ALWAYS_REFUSED.includes(c.rule) || (policy.blockPrivateNetworks && PRIVATE_RULES.includes(c.rule));
  if (!refused) return undefined;
  return { host: h, address: c.address, rule: c.rule, allowWith: c.address };
}

/** Why a destination is refused, naming the address, the rule and the config key that would permit it (the caller names the URL). */
export function refusalDetail(r: Refusal): string {
  const what = r.address === undefined
    ? `host ${r.host} is the name of a cloud metadata service`
    : r.address === r.host
      ? `${r.address} is ${describeRule(r.rule)}`
      : `host ${r.host} resolves to ${r.address}, ${describeRule(r.rule)}`;
  const cfg = PRIVATE_RULES.includes(r.rule)
    ? `set outboundHttp.blockPrivateNetworks to false or add "${r.allowWith}" to outboundHttp.allow in the config`
    : `add "${r.allowWith}" to outboundHttp.allow in the config if this destination is intended`;
  return `${what} (rule ${r.rule}); ${cfg}`;
}
