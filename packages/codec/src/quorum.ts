// Quorum message framing (msgpackr records in length-prefixed frames). Filled in with the election package.
export {};
