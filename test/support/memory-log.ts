/** A Log that keeps its lines as `level: message`, for tests that assert on what a unit said. */
export function memoryLog() {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return {
    lines,
    log: { info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') },
  };
}
