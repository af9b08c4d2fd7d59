/** A message of the engine's JSON stream (load, build, pull). */
export interface EngineMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Splits the engine's JSON stream into messages. The engine writes one JSON
 * object per line, but a chunk boundary can fall anywhere, so text is held
 * until its line is whole.
 */
export class JsonMessageParser {
  private pending = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): EngineMessage[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    return lines.flatMap((line) => parseLine(line));
  }

  end(): EngineMessage[] {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    return parseLine(rest);
  }
}

function parseLine(line: string): EngineMessage[] {
  const text = line.trim();
  if (text === '') return [];
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? [value] : [{ stream: text }];
  } catch {
    return [{ stream: text }];
  }
}

/** The error a message reports, if any. Fields of unexpected types still count as an error, never as a crash. */
export function messageError(message: EngineMessage): string | undefined {
  const detail: unknown = message.errorDetail?.message;
  if (typeof detail === 'string' && detail !== '') return detail;
  const error: unknown = message.error;
  if (typeof error === 'string' && error !== '') return error;
  const reported = (error !== undefined && error !== null) || (message.errorDetail !== undefined && message.errorDetail !== null);
  return reported ? 'the engine reported an error without a message' : undefined;
}

/** The progress text a message carries (stream or status), if it is text. */
export function messageText(message: EngineMessage): string {
  const text: unknown = message.stream ?? message.status;
  return typeof text === 'string' ? text.trim() : '';
}
