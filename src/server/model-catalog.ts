// The model ids this server answers to: the first is canonical, the rest are
// aliases for it. Requests name one of them (or none, meaning the canonical one).
import { apiError } from './errors.js';

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

const OWNER = 'sgl-omni';

export class ModelCatalog {
  readonly canonical: string;
  private readonly names: Set<string>;
  /** Unix seconds the catalog was made (the server's start), shown as `created`. */
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(servedModelNames: string[]) {
    if (servedModelNames.length === 0 || servedModelNames.some((name) => !name)) {
      throw new Error('servedModelNames needs at least one non-empty model name');
    }
    this.canonical = servedModelNames[0];
    this.names = new Set(servedModelNames);
  }

  /** The requested name, checked; the canonical id when none was sent. */
  resolve(requested: string | undefined): string {
    if (requested === undefined) return this.canonical;
    if (!this.names.has(requested)) {
      throw apiError('model_not_found', [requested, [...this.names].join(', ')], { param: 'model' });
    }
    return requested;
  }

  cards(): ModelCard[] {
    return [...this.names].map((id) => this.card(id));
  }

  card(id: string): ModelCard {
    return { id: this.resolve(id), object: 'model', created: this.created, owned_by: OWNER };
  }
}
