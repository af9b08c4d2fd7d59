import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../../src/workflow/check.ts';
import { formatJson } from '../../../src/workflow/formatters/json.ts';
import { toSarif } from '../../../src/workflow/formatters/sarif.ts';
import { formatText } from '../../../src/workflow/formatters/text.ts';
import { rules } from '../../../src/workflow/rules/index.ts';
import { fixture } from './fixtures.ts';

const result = checkWorkflows([{ path: '.github/workflows/ci.yml', text: fixture('rules/push-policy-gate.yml') }]);

describe('text', () => {
  it('prints path:line:col: message [rule]', () => {
    const text = formatText(result.findings, result.files, { excerpt: false });
    expect(text).toMatch(/^\.github\/workflows\/ci\.yml:9:24: Output 'run_integration' of job 'build' .* \[push-policy-gate\]\n$/);
  });

  it('adds the source line and a caret on a terminal', () => {
    const lines = formatText(result.findings, result.files, { excerpt: true }).split('\n');
    expect(lines[1]).toBe("9 |       run_integration: ${{ steps.policy.outputs.push }}");
    expect(lines[2]).toBe(`  | ${' '.repeat(23)}^`);
  });
});

describe('json', () => {
  it('lists findings with rule, position and docs link', () => {
    const body = JSON.parse(formatJson(result.findings)) as { findings: Record<string, unknown>[] };
    expect(body.findings).toEqual([
      expect.objectContaining({
        path: '.github/workflows/ci.yml',
        line: 9,
        col: 24,
        rule: 'push-policy-gate',
        level: 'error',
        docs: 'https://github.com/image-handover/image-handover/blob/main/docs/check-and-migrate.md#rule-push-policy-gate',
      }),
    ]);
  });
});

interface SarifLog {
  version: string;
  $schema: string;
  runs: {
    tool: { driver: { name: string; rules: { id: string; shortDescription: { text: string }; helpUri: string }[] } };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[];
    }[];
  }[];
}

describe('sarif', () => {
  const all = checkWorkflows(
    ['registry-pull', 'artifact-retention', 'suppression'].map((name) => ({ path: `rules/${name}.yml`, text: fixture(`rules/${name}.yml`) })),
  );
  const log = JSON.parse(JSON.stringify(toSarif(all.findings))) as SarifLog;

  it('is SARIF 2.1.0 with one run and the tool rules code scanning needs', () => {
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const driver = log.runs[0]?.tool.driver;
    expect(driver?.name).toBe('handover');
    expect(driver?.rules.map((r) => r.id)).toEqual(rules.map((r) => r.id));
    for (const rule of driver?.rules ?? []) {
      expect(rule.shortDescription.text.length).toBeGreaterThan(0);
      expect(rule.helpUri).toBe(`https://github.com/image-handover/image-handover/blob/main/docs/check-and-migrate.md#rule-${rule.id}`);
    }
  });

  it('has one result per finding, each pointing at a rule and a region', () => {
    const run = log.runs[0];
    expect(run?.results).toHaveLength(all.findings.length);
    for (const [index, sarif] of (run?.results ?? []).entries()) {
      const finding = all.findings[index];
      expect(sarif.ruleId).toBe(finding?.ruleId);
      expect(run?.tool.driver.rules[sarif.ruleIndex]?.id).toBe(sarif.ruleId);
      expect(['error', 'warning', 'note']).toContain(sarif.level);
      expect(sarif.message.text).toBe(finding?.message);
      const location = sarif.locations[0]?.physicalLocation;
      expect(location?.artifactLocation.uri).toBe(finding?.path);
      expect(location?.region).toEqual({ startLine: finding?.line, startColumn: finding?.col });
      expect(Number.isInteger(location?.region.startLine) && (location?.region.startLine ?? 0) >= 1).toBe(true);
    }
  });
});
