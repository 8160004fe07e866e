import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ApiClient, CliError } from './client.ts';

type ApplyReport = { created: string[]; updated: string[]; unchanged: string[] };
/** Applies a YAML document offline (on the configured database), given by cli.ts. */
export type LocalApply = (yaml: string, dbOptions: { 'data-dir'?: string; 'database-url'?: string }) => Promise<ApplyReport>;

const remoteConfigured = () => !!(process.env.FIREWATCH_URL && process.env.FIREWATCH_TOKEN);

/**
 * A Prometheus rule file (`groups:` …) as a `rules:` document: the groups unchanged, plus the data source to
 * query and the service to page when given. Throws CliError when the file is not a rule file.
 */
export function ruleFileToDocument(text: string, options: { datasource?: string; service?: string }): string {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new CliError(`not valid YAML: ${(error as Error).message}`);
  }
  const groups = (raw as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) throw new CliError('not a Prometheus rule file: expected a top-level `groups:` list');
  const out = groups.map((g: unknown) => {
    if (!g || typeof g !== 'object') throw new CliError('every entry of groups: must be a mapping with name and rules');
    return { ...(g as Record<string, unknown>), ...(options.datasource ? { datasource: options.datasource } : {}), ...(options.service ? { service: options.service } : {}) };
  });
  return stringifyYaml({ rules: out });
}

const USAGE = `usage:
  firewatch rules import FILE [--datasource D] [--service S] [--dry-run]   load a Prometheus rule file (unchanged) as rule groups
  firewatch rules list [--json]                                            groups, rules and their state (over the API)`;

export async function runRulesCommand(args: string[], localApply: LocalApply): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'import') {
    const { values, positionals } = parseArgs({
      args: rest, allowPositionals: true,
      options: { datasource: { type: 'string' }, service: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
    });
    if (positionals.length !== 1) throw new CliError(USAGE);
    let text: string;
    try {
      text = readFileSync(positionals[0], 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${positionals[0]}: ${(error as Error).message}`);
    }
    const yaml = ruleFileToDocument(text, { datasource: values.datasource, service: values.service });
    if (values['dry-run']) {
      process.stdout.write(yaml);
      return 0;
    }
    const report = remoteConfigured()
      ? await ApiClient.fromEnv().request<ApplyReport>('POST', '/api/v1/config/apply', { yaml })
      : await localApply(yaml, values);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      for (const [what, list] of Object.entries(report)) for (const item of list) console.log(`${what.padEnd(9)} ${item}`);
    }
    return 0;
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
    const res = await ApiClient.fromEnv().request<{ groups: { name: string; rules: { name: string; type: string; state: string | null; health: string; last_error: string | null; alerts: unknown[] }[] }[] }>('GET', '/api/v1/rules');
    if (values.json) {
      console.log(JSON.stringify(res, null, 2));
      return 0;
    }
    const rows = [['GROUP', 'RULE', 'TYPE', 'STATE', 'ALERTS', 'HEALTH']];
    for (const g of res.groups) for (const r of g.rules) rows.push([g.name, r.name, r.type, r.state ?? '-', String(r.alerts.length), r.health + (r.last_error ? `: ${r.last_error}` : '')]);
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    console.log(rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n'));
    return 0;
  }
  throw new CliError(USAGE);
}
