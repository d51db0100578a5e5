import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

/** Longest render the sample agrees to simulate. */
const MAX_RENDER_MS = 10_000;

/** Stands in for slow work (a PDF renderer, a report query): it just takes `ms`. */
@Injectable()
export class PdfRenderer {
  async render(ms: number): Promise<void> {
    await sleep(Math.min(Math.max(ms, 0), MAX_RENDER_MS));
  }
}
