/** How every cell is parsed. */
import type { Options } from "acorn";

/**
 * A classic script (cells run as `vm.Script`, sloppy unless they say "use strict"), with
 * `await` allowed at the top level and `import` accepted anywhere so that we, not acorn,
 * decide where it is allowed (top level only) and say so clearly.
 */
export const ACORN_OPTIONS: Options = {
  ecmaVersion: "latest",
  sourceType: "script",
  allowAwaitOutsideFunction: true,
  allowReturnOutsideFunction: false,
  allowImportExportEverywhere: true,
  allowHashBang: true,
  locations: true,
};
