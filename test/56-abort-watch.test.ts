/**
 * Callers' abort signals are watched once per holder of requests (a wait
 * queue, a connection's requests in flight), weakly: a long-lived signal
 * that meets holder after holder as pools come and go keeps references only
 * about as many as the holders alive, and tells only those when it aborts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { holderCount, SignalWatch, type AbortScanner } from '../packages/core/src/abort-watch.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

class Holder implements AbortScanner {
  told = 0;
  readonly watch = new SignalWatch(this);
  signalAborted(): void {
    this.told++;
  }
}

test('a signal met by thousands of holders that come and go keeps about as many references as holders alive', async () => {
  const controller = new AbortController();
  const alive: Holder[] = [];
  for (let round = 0; round < 20; round++) {
    // 200 holders meet the signal (each twice: once counts); all but one are then dropped.
    for (let i = 0; i < 200; i++) {
      const holder = new Holder();
      holder.watch.watch(controller.signal);
      holder.watch.watch(controller.signal);
      if (i === 0) alive.push(holder);
    }
    // WeakRef targets live to the end of the job that made them: collect after it.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  assert.ok(holderCount(controller.signal) < 400, `${holderCount(controller.signal)} references kept for ${alive.length} holders alive`);
  controller.abort();
  assert.deepEqual(
    alive.map((holder) => holder.told),
    alive.map(() => 1),
  );
  assert.equal(holderCount(controller.signal), 0);
});
