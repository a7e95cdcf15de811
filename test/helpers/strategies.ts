/** The strategy configurations every contract and concurrency suite runs against. */
import type { StrategyConfig } from '@litepool/core';

/** A label and the config that builds it (plain JSON, so child processes can rebuild it). */
export interface StrategyCase {
  readonly label: string;
  readonly config: StrategyConfig;
}

export const STRATEGY_CASES: readonly StrategyCase[] = [
  { label: 'wal', config: { name: 'wal' } },
  { label: 'mutex', config: { name: 'mutex' } },
  { label: 'mutex (read/write)', config: { name: 'mutex', readWrite: true } },
  { label: 'single-writer', config: { name: 'single-writer' } },
  { label: 'single-writer (grouped transactions)', config: { name: 'single-writer', groupTransactions: true } },
  { label: 'file-lock', config: { name: 'file-lock' } },
  { label: 'file-lock (grouped transactions)', config: { name: 'file-lock', groupTransactions: true } },
];
