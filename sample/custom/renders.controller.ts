import { Controller, Get, InternalServerErrorException, ParseIntPipe, Query } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';
import { ConcurrencyThrottle } from './concurrency.throttle';
import { PdfRenderer } from './pdf-renderer.service';

/**
 * Slow work, limited by how many renders a client has in progress rather
 * than by a rate. `?ms=` sets how long a render takes, so the limit is easy
 * to see with a few parallel `curl`s.
 */
@Controller('renders')
@Throttle([ConcurrencyThrottle])
export class RendersController {
  constructor(private readonly renderer: PdfRenderer) {}

  @Get('pdf')
  async pdf(@Query('ms', new ParseIntPipe({ optional: true })) ms = 2000): Promise<{ rendered: boolean }> {
    await this.renderer.render(ms);
    return { rendered: true };
  }

  /** A render that fails after `ms`: its slot is given back all the same. */
  @Get('broken')
  async broken(@Query('ms', new ParseIntPipe({ optional: true })) ms = 0): Promise<never> {
    await this.renderer.render(ms);
    throw new InternalServerErrorException({ detail: 'The renderer crashed.' });
  }
}
