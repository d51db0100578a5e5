import { Module } from '@nestjs/common';
import { MaintenanceWindow } from './maintenance-window.service';
import { OrdersController } from './orders.controller';

/** Docs topic "Async hooks": a throttle whose allow hook is async. */
@Module({ controllers: [OrdersController], providers: [MaintenanceWindow], exports: [MaintenanceWindow] })
export class MaintenanceModule {}
