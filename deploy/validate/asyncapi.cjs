// Validates the event catalog with the AsyncAPI project's own parser (an independent
// implementation): node deploy/validate/asyncapi.cjs docs/asyncapi.json
// (NODE_PATH points at the parser's node_modules; `make validate` sets it.)
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

async function main(path) {
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(path, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of diagnostics) {
    const level = ["error", "warning", "info", "hint"][d.severity];
    console.log(`${level}: ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
  }
  if (!document || errors.length) {
    console.error(`${path}: invalid AsyncAPI (${errors.length} error(s))`);
    process.exit(1);
  }
  const messages = document.allMessages().length;
  console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${messages} messages`);
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(1); });
