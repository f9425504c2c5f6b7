/** Lines that fit the terminal: wrapped between fields, never inside a number. */

/** The terminal's width in columns, or undefined when the stream is not a terminal (a pipe, a file): then lines are not wrapped. */
export function terminalWidth(stream: NodeJS.WriteStream): number | undefined {
  return stream.isTTY === true && stream.columns > 0 ? stream.columns : undefined;
}

/**
 * Joins fields with two spaces, starting a new line (indented by `indent`) before a
 * field that would run past `width`. A field wider than a line stays whole on its own.
 */
export function fitFields(fields: readonly string[], width: number | undefined, indent = '    '): string {
  if (width === undefined) return fields.join('  ');
  const lines: string[] = [];
  let line = '';
  for (const field of fields) {
    if (line === '') line = field;
    else if (line.length + 2 + field.length <= width) line += `  ${field}`;
    else {
      lines.push(line);
      line = indent + field;
    }
  }
  lines.push(line);
  return lines.join('\n');
}
