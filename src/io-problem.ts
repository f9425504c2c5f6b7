/** What a failed file-system call means for the user, in words: the one place that reads errno codes. */

/** The errno code of a Node file-system error, or undefined for any other error. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why reading a file failed: "does not exist", "is a folder, not a file", … */
export function readProblem(error: unknown): string {
  switch (errnoCode(error)) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    default:
      return `cannot be read (${message(error)})`;
  }
}

/** Why listing a folder failed: "no such folder", "is not a folder", … */
export function listProblem(error: unknown): string {
  switch (errnoCode(error)) {
    case 'ENOENT':
      return 'no such folder';
    case 'ENOTDIR':
      return 'is not a folder';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    default:
      return `cannot be listed (${message(error)})`;
  }
}

/** Why a write failed (disk full, permissions, a file in the way). */
export function writeProblem(error: unknown): string {
  switch (errnoCode(error)) {
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EEXIST':
    case 'EISDIR':
      return 'a file or folder of that name is in the way';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device';
    case 'ENOENT':
      // mkdir in an existing folder says ENOENT where the file system makes its own entries (/proc, /sys).
      return 'folders cannot be created there (a pseudo file system such as /proc, or a folder that was removed)';
    default:
      return message(error);
  }
}
