import { defineConnector } from '../types.js';
import type { CsvConfig } from './config.js';
import { CsvSource } from './csv-source.js';

export default defineConnector<CsvConfig>({
  id: 'csv',
  createSource: (config, ctx) => new CsvSource(config, ctx),
});
