// Strict mode: a rank whose guard reported a hazard exits with status 66 (the launcher then
// fails the job), whether the program calls finalize or just ends. An exit status the
// program chose itself (non-zero) is left alone.

import type { NativeAddon } from './native.js';

export const STRICT_EXIT_CODE = 66;

export function applyStrictExit(native: NativeAddon): void {
  if (native.guardStats().strictReports > 0 && (process.exitCode === undefined || process.exitCode === 0)) {
    process.exitCode = STRICT_EXIT_CODE;
  }
}

let armed = false;

export function armStrictExit(native: NativeAddon): void {
  if (armed) return;
  armed = true;
  process.on('beforeExit', () => applyStrictExit(native));
  process.on('exit', () => applyStrictExit(native));
}
