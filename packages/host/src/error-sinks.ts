import type { ErrorSink } from '@syncap/core';

/**
 * An ErrorSink that writes one line to stderr: what a listener threw, named by `who`.
 * The application's bug is reported without stopping capture.
 */
export function stderrErrorSink(who: string): ErrorSink {
  return (error) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${who}: a listener threw: ${text}\n`);
  };
}
