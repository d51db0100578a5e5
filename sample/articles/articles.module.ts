import { Module } from '@nestjs/common';
import { ArticleView } from './article.view';

/** Docs topic "AnonRateThrottle / UserRateThrottle". */
@Module({ controllers: [ArticleView] })
export class ArticlesModule {}
