// Rounds of a measuring script, each in a fresh process (so each is a
// process's first calls): the script runs itself with `--child <JSON>` and
// prints one JSON object of step -> ms. Shared by first-calls.mjs and
// long-streams.mjs.
import { spawnSync } from 'node:child_process';

/** The middle value of `list` (the upper one of two). */
export const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** `--rounds` as a whole number above 0; throws otherwise. */
export function roundsOption(value) {
  const rounds = Number(value);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number above 0, got ${value}`);
  return rounds;
}

/**
 * Runs `script --child JSON.stringify(childArgs(i))` for each of `rounds`
 * rounds; returns each step's median and every round's value.
 */
export function freshRounds(script, rounds, label, childArgs) {
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    const result = spawnSync(process.execPath, [script, '--child', JSON.stringify(childArgs(i))], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0) throw new Error(`${label} round ${i} failed (${result.status}): ${result.stderr.slice(-1000)}`);
    runs.push(JSON.parse(result.stdout));
  }
  return Object.fromEntries(
    Object.keys(runs[0]).map((step) => [step, { median: median(runs.map((run) => run[step])), runs: runs.map((run) => run[step]) }]),
  );
}
