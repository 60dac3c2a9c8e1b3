#!/usr/bin/env node
// The standalone server is not built yet; this entry point says so instead of pretending.
process.stderr.write(
  'zkts-server: the standalone server is not implemented yet in this version of zkts.\n' +
    'The packages (codec, data tree, persistence, election) can be used and tested on their own.\n',
);
process.exitCode = 1;
