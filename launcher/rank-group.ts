// How a rank is started in a process group of its own inside the starting process's
// session (launcher/local-starter.ts says why), for local ranks and, through the same script
// interpolated into its source, for the ranks a host's daemon starts (ssh/remote-command.ts).
import { existsSync } from 'node:fs';

export const RANK_GROUP_PERL = '/usr/bin/perl';
/** Becomes the leader of a new process group, then is the program (argv[0] onwards). */
export const RANK_GROUP_SCRIPT = 'setpgrp(0, 0) or die "setpgrp: $!\\n"; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n"';
let perlChecked: boolean | undefined;

/** The command that runs `command args` in a process group of its own, and whether it needs `detached`. */
export function inOwnGroup(command: string, args: string[]): { command: string; args: string[]; detached: boolean } {
  perlChecked ??= existsSync(RANK_GROUP_PERL);
  if (perlChecked) return { command: RANK_GROUP_PERL, args: ['-e', RANK_GROUP_SCRIPT, command, ...args], detached: false };
  return { command, args, detached: true };
}
