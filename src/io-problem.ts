/** What a failed file-system call means for the user, in words: the one place that reads errno codes. */

/** The errno code of a Node file-system error, or undefined for any other error. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const DENIED = 'is not readable (permission denied)';

function inWords(error: unknown, words: Readonly<Record<string, string>>, otherwise: (message: string) => string): string {
  return words[errnoCode(error) ?? ''] ?? otherwise(message(error));
}

/** Why reading a file failed: "does not exist", "is a folder, not a file", … */
export function readProblem(error: unknown): string {
  return inWords(error, { ENOENT: 'does not exist', EISDIR: 'is a folder, not a file', EACCES: DENIED, EPERM: DENIED }, (m) => `cannot be read (${m})`);
}

/** Why listing a folder failed: "no such folder", "is not a folder", … */
export function listProblem(error: unknown): string {
  return inWords(error, { ENOENT: 'no such folder', ENOTDIR: 'is not a folder', EACCES: DENIED, EPERM: DENIED }, (m) => `cannot be listed (${m})`);
}

const WRITE_WORDS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file or folder of that name is in the way',
  EISDIR: 'a file or folder of that name is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'no space left on the device',
  // mkdir in an existing folder says ENOENT where the file system makes its own entries (/proc, /sys).
  ENOENT: 'folders cannot be created there (a pseudo file system such as /proc, or a folder that was removed)',
};

/** Why a write failed (disk full, permissions, a file in the way). */
export function writeProblem(error: unknown): string {
  return inWords(error, WRITE_WORDS, (m) => m);
}
