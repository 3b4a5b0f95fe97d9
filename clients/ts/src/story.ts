// A frontend team's first story with the generated client: no casts, `tsc --strict`.
// Creates a contract with attributes, finds it again by an attribute filter and a status list,
// reads its attributes back, and reads a page of tasks. Run against a live Pactum:
//   PACTUM_URL=http://127.0.0.1:8080 PACTUM_TOKEN=<admin token> node dist/story.js
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type ContractIn = components["schemas"]["ContractIn"];
type ContractOut = components["schemas"]["ContractOut"];

const baseUrl = process.env.PACTUM_URL ?? "http://127.0.0.1:8080";
const token = process.env.PACTUM_TOKEN ?? "";
// Lists (`status`) are comma-separated (form, not exploded) as the spec says; objects (`attr`)
// are deep objects, openapi-fetch's default.
const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}` },
  querySerializer: { array: { style: "form", explode: false }, object: { style: "deepObject", explode: true } },
});

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`story failed: ${what}`);
  }
}

const run = Date.now().toString(36);
const region = `north${run}`.replace(/[^a-z0-9_]/g, "");

// An admin defines the characteristic; the key is the client's own.
const definition = await client.POST("/api/v1/attribute-definitions", {
  body: {
    entity_kind: "contract",
    key: `region_${run}`.replace(/[^a-z0-9_]/g, ""),
    label: "Sales region",
    data_type: "text",
  },
});
check(definition.response.status === 201, `define attribute: ${definition.response.status}`);
const key = definition.data?.key ?? "";

const input: ContractIn = {
  title: "Lift maintenance (typed client)",
  contract_type: "maintenance",
  customer_ref: `CUST-${run}`,
  start_date: "2026-01-01",
  term_months: 12,
  attributes: { [key]: region },
};
const created = await client.POST("/api/v1/contracts", { body: input });
check(created.response.status === 201, `create contract: ${created.response.status}`);
const contract: ContractOut | undefined = created.data;
check(contract !== undefined, "created contract body");
if (contract === undefined) process.exit(1);

// Attributes read back as values, not as an empty record.
const value = contract.attributes[key];
check(value === region, `attribute read back: ${String(value)}`);
// Always-present fields need no guard: end_date is a string or null, never undefined.
const end: string | null = contract.end_date;
check(end === "2026-12-31", `end date ${end}`);

// Filter by the attribute (deep object) and by a list of statuses.
const found = await client.GET("/api/v1/contracts", {
  params: { query: { attr: { [key]: region }, status: "draft", limit: 10 } },
});
check(found.response.status === 200, `list by attribute: ${found.response.status}`);
const ids = found.data?.items.map((c) => c.id) ?? [];
check(ids.length === 1 && ids[0] === contract.id, `attribute filter found ${JSON.stringify(ids)}`);

const tasks = await client.GET("/api/v1/tasks", {
  params: { query: { assignee: "me", status: ["open", "in_progress"], limit: 5 } },
});
check(tasks.response.status === 200, `tasks: ${tasks.response.status}`);
const page = tasks.data;
check(page !== undefined && Array.isArray(page.items), "a page of tasks");
const next: string | null = page?.next_cursor ?? null;

const calls = await client.GET("/api/v1/service-calls", {
  params: { query: { status: ["new", "acknowledged"] } },
});
check(calls.response.status === 200, `service calls: ${calls.response.status}`);

console.log(
  `story passed: contract ${contract.number} (${key}=${String(value)}), ` +
    `${page?.items.length ?? 0} tasks on the first page, next cursor ${next === null ? "none" : "given"}`,
);
