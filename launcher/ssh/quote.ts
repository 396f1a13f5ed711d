// Quoting for the remote POSIX shell that sshd runs the exec command with.

const SAFE = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;

/**
 * Quotes one word for a POSIX shell (sh, dash, bash, zsh): safe words stay as they are,
 * anything else goes in single quotes with embedded single quotes written as '\''.
 * NUL bytes cannot be passed through exec and are refused.
 */
export function shQuote(word: string): string {
  if (word.includes('\0')) throw new Error(`cannot pass a NUL byte to the remote shell: ${JSON.stringify(word)}`);
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes and joins words into one command line. */
export function shJoin(words: string[]): string {
  return words.map(shQuote).join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}
