// Writes messages.d.ts, the TypeScript types of every socket message, from a server's AsyncAPI
// document (GET /api/asyncapi/): a server with metrics of the hospital's own gets their types.
//
//   node generate-types.mjs http://127.0.0.1:8000/api/asyncapi/ [messages.d.ts]

import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const SCHEMAS = "#/components/schemas/";

function comment(text, indent) {
  return `${indent}/** ${text.replace(/\*\//g, "*\\/").replace(/\s*\n\s*/g, " ")} */\n`;
}

/** The TypeScript type of a JSON Schema as the document writes them. */
function typeOf(schema, indent = "") {
  if (schema.$ref) return schema.$ref.slice(SCHEMAS.length);
  if ("const" in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (schema.oneOf) return schema.oneOf.map((part) => typeOf(part, indent)).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type }, indent)).join(" | ");
  switch (schema.type) {
    case "integer":
    case "number":
      return "number";
    case "string":
    case "boolean":
    case "null":
      return schema.type;
    case "array":
      return `Array<${typeOf(schema.items ?? {}, indent)}>`;
    case "object":
      if (schema.properties) return objectOf(schema, indent);
      return `{ [key: string]: ${schema.additionalProperties ? typeOf(schema.additionalProperties, indent) : "unknown"} }`;
    default:
      return "unknown";
  }
}

function objectOf(schema, indent) {
  const required = new Set(schema.required ?? []);
  let text = "{\n";
  for (const [name, field] of Object.entries(schema.properties)) {
    if (field.description) text += comment(field.description, `${indent}  `);
    text += `${indent}  ${name}${required.has(name) ? "" : "?"}: ${typeOf(field, `${indent}  `)};\n`;
  }
  return `${text}${indent}}`;
}

/** The schema components the messages name, each once, in the order they are first named. */
function referenced(document, roots) {
  const found = [];
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== "object") return;
    if (typeof node.$ref === "string" && node.$ref.startsWith(SCHEMAS)) {
      const name = node.$ref.slice(SCHEMAS.length);
      if (!found.includes(name)) {
        found.push(name);
        visit(document.components.schemas[name]);
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(roots);
  return found;
}

export function declarations(document) {
  const messages = Object.entries(document.components.messages);
  const server = messages.filter(([key]) => !key.startsWith("client_"));
  const client = messages.filter(([key]) => key.startsWith("client_"));
  const updates = document.components.messages.dashboard_update.payload.oneOf;
  const closeCodes = Object.entries(document.channels.dashboard["x-close-codes"] ?? {});
  const block = (name, entries) => [
    `export interface ${name} {`,
    ...entries.map(([, { name: type, payload }]) => {
      const text = payload.description ? comment(payload.description, "  ") : "";
      return `${text}  ${type}: ${typeOf(payload, "  ")};`;
    }),
    "}",
    "",
  ];
  const lines = [
    `// ${document.info.title}, version ${document.info.version}: every message, from the`,
    "// AsyncAPI document the server publishes at GET /api/asyncapi/ (written by generate-types.mjs).",
    "",
    `export type LiveMetric = ${updates.map((update) => JSON.stringify(update.properties.metric.const)).join(" | ")};`,
    "",
    "/** Each live metric's `data`. */",
    "export interface MetricData {",
    ...updates.map((update) => `  ${update.properties.metric.const}: ${typeOf(update.properties.data)};`),
    "}",
    "",
    "/** The messages the server sends, by type. */",
    ...block("ServerMessages", server),
    "/** The messages a client sends, by type. */",
    ...block("ClientMessages", client),
    "export type ServerMessage = ServerMessages[keyof ServerMessages];",
    "export type ClientMessage = ClientMessages[keyof ClientMessages];",
    "export type DashboardUpdate = ServerMessages[\"dashboard_update\"];",
    "export type ErrorCode = ServerMessages[\"error\"][\"code\"];",
    "export type AuthErrorCode = ServerMessages[\"auth_error\"][\"error\"];",
    "",
    "/**",
    " * The codes the server closes a socket with:",
    ...closeCodes.map(([code, why]) => ` * - ${code}: ${why.replace(/\*\//g, "*\\/")}`),
    " */",
    `export type CloseCode = ${closeCodes.map(([code]) => code).join(" | ")};`,
    "",
  ];
  for (const name of referenced(document, messages.map(([, message]) => message.payload))) {
    const schema = document.components.schemas[name];
    if (schema.description) lines.push(comment(schema.description, "").trimEnd());
    lines.push(schema.properties
      ? `export interface ${name} ${objectOf(schema, "")}`
      : `export type ${name} = ${typeOf(schema)};`);
    lines.push("");
  }
  return lines.join("\n");
}

async function main([source, target = fileURLToPath(new URL("messages.d.ts", import.meta.url))]) {
  if (!source) throw new Error("usage: node generate-types.mjs <AsyncAPI URL or file> [output]");
  const text = /^https?:/.test(source)
    ? await (await fetch(source, { headers: { Accept: "application/json" } })).text()
    : await readFile(source, "utf8");
  await writeFile(target, declarations(JSON.parse(text)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
