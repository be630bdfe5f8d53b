import { defineConnector } from '../types.js';
import { createCrossbeamClient } from './client.js';
import type { CrossbeamConfig } from './config.js';
import { CrossbeamSource } from './source.js';

export default defineConnector<CrossbeamConfig>({
  id: 'crossbeam',
  createSource: (config) => new CrossbeamSource(createCrossbeamClient(config), config),
});
