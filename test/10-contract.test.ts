/**
 * One contract suite, run against every strategy: the whole core API
 * behaves the same whichever strategy coordinates access.
 */
import { createPool } from '@litepool/core';
import { contractSuite } from './helpers/contract.js';
import { STRATEGY_CASES } from './helpers/strategies.js';
import { tempDb } from './helpers/temp.js';

for (const { label, config } of STRATEGY_CASES) {
  contractSuite(label, {
    strategy: config.name,
    pool: (t) => {
      const pool = createPool({ filename: tempDb(t), strategy: config });
      t.after(() => pool.destroy());
      return Promise.resolve(pool);
    },
    reopen: (pool) => createPool({ filename: pool.options.filename, strategy: config }),
  });
}
