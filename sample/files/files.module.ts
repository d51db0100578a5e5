import { Module } from '@nestjs/common';
import { DownloadView } from './download.view';
import { UploadView } from './upload.view';

/** Docs topic "ScopedRateThrottle". */
@Module({ controllers: [UploadView, DownloadView] })
export class FilesModule {}
