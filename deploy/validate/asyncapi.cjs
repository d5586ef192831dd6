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
  // No holes: each message says its payload, headers, key and meaning, with an example.
  const holes = [];
  for (const message of document.allMessages()) {
    const id = message.id();
    const payload = message.payload();
    if (!payload || Object.keys(payload.properties() || {}).length === 0) holes.push(`${id}: empty payload`);
    const headers = message.headers();
    if (!headers || Object.keys(headers.properties() || {}).length === 0) holes.push(`${id}: no header schema`);
    if (!message.hasDescription()) holes.push(`${id}: no description`);
    if (message.examples().length === 0) holes.push(`${id}: no example`);
    const kafka = message.bindings().get("kafka");
    if (!kafka || !kafka.value().key) holes.push(`${id}: no Kafka key`);
  }
  for (const hole of holes) console.error(`hole: ${hole}`);
  if (holes.length) {
    console.error(`${path}: ${holes.length} hole(s) in the messages`);
    process.exit(1);
  }
  const messages = document.allMessages().length;
  console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ${messages} messages`);
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(1); });
