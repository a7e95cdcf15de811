/** Errors a lock directory operation meets on a network filesystem when another host races it. */
import { constants as osConstants } from 'node:os';

const ESTALE = osConstants.errno.ESTALE as number | undefined;

/**
 * On sshfs and NFS, a mkdir or stat racing another host's removal of the same
 * lock fails transiently: ENOENT, or ESTALE (a file handle the server no
 * longer knows; libuv has no name for it, so it is matched by errno).
 */
export function racedOnNetworkFs(error: unknown): boolean {
  const { code, errno } = error as { code?: string; errno?: number };
  return code === 'ENOENT' || code === 'ESTALE' || (ESTALE !== undefined && errno === -ESTALE);
}
