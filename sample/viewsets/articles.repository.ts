import { Injectable } from '@nestjs/common';

export interface Article {
  readonly id: number;
  readonly title: string;
}

/** The viewset's queryset (`Article.objects.all()`), in memory. */
@Injectable()
export class ArticlesRepository {
  private readonly articles = new Map<number, Article>([
    [1, { id: 1, title: 'Throttling in DRF' }],
    [2, { id: 2, title: 'Throttling in NestJS' }],
  ]);
  private nextId = 3;

  all(): Article[] {
    return [...this.articles.values()];
  }

  find(id: number): Article | undefined {
    return this.articles.get(id);
  }

  create(title: string): Article {
    const article = { id: this.nextId++, title };
    this.articles.set(article.id, article);
    return article;
  }

  /** `false` when there was no such article. */
  delete(id: number): boolean {
    return this.articles.delete(id);
  }
}
