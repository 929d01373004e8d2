/**
 * OCF meta-data XML for any resource-agent definition, what the LRM's `meta-data`
 * operation returns: the agent's name, version and descriptions, its parameters (from
 * the zod schema, via {@link describeParams}) and its actions with their timeouts, in the
 * layout of OCF's `ra-api-1.dtd`, so tools that read OCF meta-data read Vigil's agents too.
 *
 * Pure: no I/O.
 *
 * @example
 * ```ts
 * import Dummy from "../../ra/dummy.ts";
 * agentMetadataXml(Dummy); // '<?xml version="1.0"?>\n<!DOCTYPE resource-agent ...'
 * ```
 * @module
 */

import { describeParams } from "../../plugins/param_description.ts";
import type { ResourceAgentDefinition } from "../../plugins/resource_agent.ts";

/** Escapes text for an XML attribute value or element content. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) =>
      c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === "&"
        ? "&amp;"
        : c === '"'
        ? "&quot;"
        : "&apos;",
  );
}

/** A timeout as OCF writes it: whole seconds as `20s`, anything else in `ms`. */
function ocfDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The OCF content type of a parameter type from {@link describeParams}. */
function contentType(type: string): string {
  return type === "integer" || type === "boolean" ? type : "string";
}

/** The default as an attribute value (objects as JSON), or undefined. */
function defaultText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The OCF meta-data document of `def`; see the module documentation. */
export function agentMetadataXml(def: ResourceAgentDefinition): string {
  const lines: string[] = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">',
    `<resource-agent name="${escapeXml(def.name)}" version="${escapeXml(def.version)}">`,
    "<version>1.1</version>",
    `<longdesc lang="en">${escapeXml(def.metadata?.longDescription ?? def.description)}</longdesc>`,
    `<shortdesc lang="en">${escapeXml(def.description)}</shortdesc>`,
    "<parameters>",
  ];
  for (const p of describeParams(def.params)) {
    const text = escapeXml(p.description ?? p.name);
    const dflt = defaultText(p.default);
    lines.push(
      `<parameter name="${escapeXml(p.name)}" required="${p.required ? 1 : 0}" unique="0">`,
      `<longdesc lang="en">${text}</longdesc>`,
      `<shortdesc lang="en">${text}</shortdesc>`,
      `<content type="${contentType(p.type)}"${
        dflt !== undefined ? ` default="${escapeXml(dflt)}"` : ""
      }/>`,
      "</parameter>",
    );
  }
  lines.push("</parameters>", "<actions>");
  const t = def.timeouts;
  lines.push(
    `<action name="start" timeout="${ocfDuration(t.start)}"/>`,
    `<action name="stop" timeout="${ocfDuration(t.stop)}"/>`,
    `<action name="monitor" timeout="${ocfDuration(t.monitor)}" depth="0"/>`,
  );
  for (const optional of ["promote", "demote", "notify"] as const) {
    if (def.actions[optional]) {
      lines.push(`<action name="${optional}" timeout="${ocfDuration(t.start)}"/>`);
    }
  }
  // validate-all is always available: the schema check runs even without an action.
  lines.push(
    `<action name="validate-all" timeout="${ocfDuration(t.monitor)}"/>`,
    '<action name="meta-data" timeout="5s"/>',
    "</actions>",
    "</resource-agent>",
  );
  return lines.join("\n") + "\n";
}
