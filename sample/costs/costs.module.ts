import { Module } from '@nestjs/common';
import { ImportsController } from './imports.controller';
import { VerifyCodeController } from './verify-code.controller';

/** Beyond DRF: a bulk endpoint whose calls cost their items, and a route that blocks a refused client for an hour. */
@Module({ controllers: [ImportsController, VerifyCodeController] })
export class CostsModule {}
