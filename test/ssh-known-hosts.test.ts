// Unit (known-hosts.ts only): OpenSSH known_hosts parsing and host key checks, with keys
// made by ssh-keygen: plain, hashed |1| and [host]:port entries, wildcards and negation,
// changed and revoked keys, appending new keys.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHost, checkHostKey, fingerprint, hostKeyName, keyBlobType, keyTypeLabel, knownKeyTypes, loadKnownHosts, parseKnownHosts, patternsMatch,
} from '../launcher/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'zcmpi-kh-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function newKey(name: string, type = 'ed25519'): { line: string; blob: Buffer; fp: string } {
  const f = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f], { stdio: 'pipe' });
  const line = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`], { encoding: 'utf8' }).split(/\s+/)[1];
  return { line, blob: Buffer.from(line.split(' ')[1], 'base64'), fp };
}
const k1 = newKey('k1');
const k2 = newKey('k2');
const k3 = newKey('k3', 'ecdsa');

t.test('fingerprints and key types agree with ssh-keygen', async t => {
  t.equal(fingerprint(k1.blob), k1.fp);
  t.equal(fingerprint(k3.blob), k3.fp);
  t.equal(keyBlobType(k1.blob), 'ssh-ed25519');
  t.equal(keyTypeLabel(keyBlobType(k3.blob)), 'ECDSA');
  t.equal(hostKeyName('h', 22), 'h');
  t.equal(hostKeyName('h', 2222), '[h]:2222');
});

t.test('plain entries, comma lists, comments, [host]:port', async t => {
  const kh = parseKnownHosts([
    '# comment',
    `alpha,10.0.0.1 ${k1.line} comment words`,
    `[beta]:2222 ${k2.line}`,
    'garbage line',
    `gamma ssh-ed25519 !!!notbase64`,
    '',
  ].join('\n'), 'kh');
  t.equal(kh.entries.length, 2, 'malformed lines are ignored, like ssh does');
  t.same(checkHostKey(kh, 'alpha', 22, k1.blob), { status: 'known', line: 2 });
  t.same(checkHostKey(kh, '10.0.0.1', 22, k1.blob), { status: 'known', line: 2 });
  t.same(checkHostKey(kh, 'beta', 2222, k2.blob), { status: 'known', line: 3 });
  t.same(checkHostKey(kh, 'beta', 22, k2.blob), { status: 'unknown' }, 'port 22 does not match [beta]:2222');
  t.same(checkHostKey(kh, 'alpha', 2222, k1.blob), { status: 'unknown' }, 'port 2222 does not match a bare name');
  t.same(checkHostKey(kh, 'delta', 22, k1.blob), { status: 'unknown' });
});

t.test('hashed entries written by ssh-keygen -H', async t => {
  const f = join(dir, 'hashed');
  writeFileSync(f, `alpha ${k1.line}\n[beta]:2200 ${k2.line}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'pipe' });
  const text = readFileSync(f, 'utf8');
  t.match(text, /^\|1\|/m, 'ssh-keygen hashed the names');
  t.notMatch(text, /alpha|beta/);
  const kh = loadKnownHosts(f);
  t.same(checkHostKey(kh, 'alpha', 22, k1.blob).status, 'known');
  t.same(checkHostKey(kh, 'beta', 2200, k2.blob).status, 'known');
  t.same(checkHostKey(kh, 'ALPHA2', 22, k1.blob).status, 'unknown');
  t.same(checkHostKey(kh, 'alpha', 22, k2.blob).status, 'changed');
});

t.test('a different key for a known host is "changed", with the recorded fingerprint', async t => {
  const kh = parseKnownHosts(`alpha ${k1.line}\n`, 'kh');
  const v = checkHostKey(kh, 'alpha', 22, k2.blob);
  t.same(v, { status: 'changed', expected: [{ line: 1, keyType: 'ssh-ed25519', fingerprint: k1.fp }] });
  t.equal(checkHostKey(kh, 'alpha', 22, k3.blob).status, 'changed', 'a new key type for a known host is not "new"');
  t.same(knownKeyTypes(kh, 'alpha', 22), ['ssh-ed25519']);
});

t.test('wildcards and negation', async t => {
  t.ok(patternsMatch('*.example.org', ['n1.example.org']));
  t.ok(patternsMatch('n?', ['n1']));
  t.notOk(patternsMatch('n?', ['n10']));
  t.notOk(patternsMatch('*.example.org,!bad.example.org', ['bad.example.org']));
  t.ok(patternsMatch('*.example.org,!bad.example.org', ['good.example.org']));
  t.ok(patternsMatch('10.0.0.*', ['10.0.0.9']));
  t.notOk(patternsMatch('10.0.0.*', ['10.0.1.9']));
});

t.test('@revoked keys are refused anywhere; @cert-authority lines never match', async t => {
  const kh = parseKnownHosts(`alpha ${k1.line}\n@revoked * ${k2.line}\n@cert-authority *.org ${k3.line}\n`, 'kh');
  t.same(checkHostKey(kh, 'beta', 22, k2.blob), { status: 'revoked', line: 2 });
  t.equal(checkHostKey(kh, 'x.org', 22, k3.blob).status, 'unknown');
});

t.test('the connected address counts only when the name is unknown', async t => {
  const kh = parseKnownHosts(`10.0.0.9 ${k1.line}\n`, 'kh');
  t.equal(checkHostKey(kh, 'newname', 22, k1.blob, '10.0.0.9').status, 'known');
  t.equal(checkHostKey(kh, 'newname', 22, k2.blob, '10.0.0.9').status, 'changed');
});

t.test('appendKnownHost creates the file and directory, and appends readable lines', async t => {
  const f = join(dir, 'sub', 'dir', 'known_hosts');
  appendKnownHost(f, 'alpha', 22, k1.blob);
  appendKnownHost(f, 'beta', 2022, k2.blob);
  t.equal(readFileSync(f, 'utf8'), `alpha ${k1.line}\n[beta]:2022 ${k2.line}\n`);
  const f2 = join(dir, 'nonl');
  writeFileSync(f2, `gamma ${k3.line}`);
  appendKnownHost(f2, 'alpha', 22, k1.blob);
  const kh = loadKnownHosts(f2);
  t.equal(kh.entries.length, 2, 'a file without a final newline gets one first');
  t.same(loadKnownHosts(join(dir, 'missing')).entries, []);
});
