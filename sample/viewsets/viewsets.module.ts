import { Module } from '@nestjs/common';
import { ArticleViewSet } from './article.viewset';
import { ArticlesRepository } from './articles.repository';
import { ReportViewSet } from './report.viewset';

/** Docs topic "Per-action throttling". */
@Module({ controllers: [ArticleViewSet, ReportViewSet], providers: [ArticlesRepository] })
export class ViewSetsModule {}
