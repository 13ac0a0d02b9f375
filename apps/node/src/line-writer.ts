import type { Writable } from 'node:stream';

/**
 * Buffers lines and writes them in chunks, waiting when the stream pushes back.
 * Memory stays bounded by `chunkBytes` plus whatever the stream itself buffers.
 */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Writable,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  write(line: string): void {
    this.parts.push(line, '\n');
    this.size += line.length + 1;
    if (this.size >= this.chunkBytes) this.drain();
  }

  /** Writes what is buffered and resolves when the stream has taken it. */
  async end(): Promise<void> {
    this.drain();
    await this.pending;
  }

  private drain(): void {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    const ok = this.stream.write(chunk);
    if (!ok) {
      this.pending = this.pending.then(() => new Promise<void>((resolve) => this.stream.once('drain', () => resolve())));
    }
  }
}
