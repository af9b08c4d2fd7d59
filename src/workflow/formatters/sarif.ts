import type { Finding } from '../findings.ts';
import { rules } from '../rules/index.ts';
import { ruleHelpUri } from '../rules/rule.ts';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifOptions {
  version?: string;
}

/** SARIF 2.1.0 as GitHub code scanning reads it: rules with help links, results with a file region. */
export function toSarif(findings: readonly Finding[], options: SarifOptions = {}): Record<string, unknown> {
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'handover',
            informationUri: 'https://github.com/image-handover/image-handover',
            ...(options.version === undefined ? {} : { semanticVersion: options.version }),
            rules: rules.map((rule) => ({
              id: rule.id,
              name: rule.id.replace(/(^|-)([a-z])/g, (_, __: string, c: string) => c.toUpperCase()),
              shortDescription: { text: rule.description },
              fullDescription: { text: rule.description },
              helpUri: ruleHelpUri(rule.id),
              help: { text: `${rule.description} See ${ruleHelpUri(rule.id)}` },
              defaultConfiguration: { level: rule.level },
            })),
          },
        },
        results: findings.map((finding) => ({
          ruleId: finding.ruleId,
          ruleIndex: ruleIndex.get(finding.ruleId) ?? 0,
          level: finding.level,
          message: { text: finding.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: finding.path.split('\\').join('/') },
                region: { startLine: finding.line, startColumn: finding.col },
              },
            },
          ],
        })),
      },
    ],
  };
}

export function formatSarif(findings: readonly Finding[], options: SarifOptions = {}): string {
  return `${JSON.stringify(toSarif(findings, options), null, 2)}\n`;
}
