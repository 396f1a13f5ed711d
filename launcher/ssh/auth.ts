// Client authentication for the SSH starter: the SSH agent (SSH_AUTH_SOCK) when present,
// then each --ssh-key file, or the default ~/.ssh/id_* keys when no --ssh-key is given.
// Public keys only: no passwords, no keyboard-interactive. Encrypted key files cannot be
// used without a passphrase prompt, so they are skipped with a warning (load them into
// ssh-agent instead).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;

export interface AuthConfig {
  /** Key files given with --ssh-key (empty: use the default identity files). */
  keyFiles: string[];
  /** Agent socket; undefined: SSH_AUTH_SOCK; null: no agent. */
  agent?: string | null;
}

export interface AuthMethod {
  label: string;
  method: { type: 'agent'; username: string; agent: string } | { type: 'publickey'; username: string; key: Buffer };
}

export interface ResolvedAuth {
  methods: (username: string) => AuthMethod[];
  /** What will be tried, for error messages: "agent /tmp/..., key /root/.ssh/id_ed25519". */
  describe: string;
  warnings: string[];
}

export const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * Loads the keys once per job. A missing or unreadable --ssh-key file is an error; a
 * missing default identity is silently skipped.
 */
export function resolveAuth(cfg: AuthConfig, env: NodeJS.ProcessEnv = process.env): ResolvedAuth {
  const warnings: string[] = [];
  const keys: { path: string; key: Buffer }[] = [];
  const explicit = cfg.keyFiles.length > 0;
  const files = explicit ? cfg.keyFiles : DEFAULT_IDENTITIES.map(n => join(homedir(), '.ssh', n)).filter(p => existsSync(p));
  for (const path of files) {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new Error(`--ssh-key ${path}: cannot read key file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const parsed = utils.parseKey(data);
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first instanceof Error) {
      const why = /passphrase/i.test(first.message) ? 'is encrypted (no passphrase prompts; load it into ssh-agent)' : `cannot be parsed: ${first.message}`;
      if (explicit) warnings.push(`--ssh-key ${path} ${why}; skipped`);
      continue;
    }
    if (!first.isPrivateKey()) {
      warnings.push(`${path} is not a private key; skipped`);
      continue;
    }
    keys.push({ path, key: data });
  }
  const agent = cfg.agent === undefined ? (env.SSH_AUTH_SOCK || null) : cfg.agent;
  const parts: string[] = [];
  if (agent) parts.push(`agent ${agent}`);
  for (const k of keys) parts.push(`key ${k.path}`);
  return {
    warnings,
    describe: parts.length ? parts.join(', ') : 'no keys (give --ssh-key FILE or start ssh-agent)',
    methods: (username: string) => {
      const m: AuthMethod[] = [];
      if (agent) m.push({ label: `agent ${agent}`, method: { type: 'agent', username, agent } });
      for (const k of keys) m.push({ label: `key ${k.path}`, method: { type: 'publickey', username, key: k.key } });
      return m;
    },
  };
}
