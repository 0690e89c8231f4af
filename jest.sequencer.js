/**
 * Jest's order (slowest and failed files first), except that the specs of
 * the compiled server go last: they wait for its build, which the global
 * setup starts in the background, and the other specs run meanwhile.
 */
const Sequencer = require('@jest/test-sequencer').default;

const LAST =
  /[\\/]test[\\/](embedded|shutdown|startup|readme|models-file|reliability-chat|tools-compiled|durable-compiled|knowledge-pgvector)\.e2e-spec\.ts$/;

class EnsembleSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return Array.isArray(sorted) ? moveLast(sorted) : Promise.resolve(sorted).then(moveLast);
  }
}

function moveLast(tests) {
  return [...tests.filter((t) => !LAST.test(t.path)), ...tests.filter((t) => LAST.test(t.path))];
}

module.exports = EnsembleSequencer;
