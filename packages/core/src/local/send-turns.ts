/**
 * How long one turn of the calling thread's event loop may keep sending
 * batches to workers. A worker answers within tens of µs, and Node hands a
 * port's messages that arrive while it handles that port's messages to the
 * same turn: under load, answers and the batches they prompt ping-ponged in
 * one turn for 5-30 ms while timers and I/O waited (the node-sqlite3 drop-in
 * at 64 calls in flight: 127 turns over 2 ms in 2 s, event-loop p99
 * 10-15 ms). Past {@link SEND_TURN_MS}, batches wait for the next turn, which
 * comes as soon as the messages already delivered are handled.
 */
import { now, setImmediate } from '../timers.js';

/** Time after a turn's first send past which its sends wait for the next turn. */
export const SEND_TURN_MS = 1;

let turnBegan = -1;

/** Whether a batch sent now must wait for the next turn (this one has sent for SEND_TURN_MS already). */
export function turnSpent(): boolean {
  const at = now();
  if (turnBegan < 0) {
    turnBegan = at;
    // Runs once this turn's I/O callbacks (the port's messages) are done: the next sends start a new turn.
    setImmediate(() => {
      turnBegan = -1;
    });
    return false;
  }
  return at - turnBegan >= SEND_TURN_MS;
}
