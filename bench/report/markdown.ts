/** The whole report as markdown: bench/results/latest.md. */
import { mebibytes } from './format.ts';
import type { BenchReport } from './model.ts';
import { cpuRows, incrementalRows, patternRows, phaseRows, renderMarkdownTable, targetRows } from './table.ts';
import type { TargetResult } from './targets.ts';

export function renderMarkdown(report: BenchReport, targets: readonly TargetResult[], chartFile: string): string {
  const m = report.machine;
  const { first, second, double } = report.images;
  const out: string[] = [];
  out.push('# Benchmark: handing an image from one engine to another', '');
  out.push(`Produced by \`${report.command}\` from ${report.startedAt} to ${report.finishedAt}; ${report.rounds} round${report.rounds === 1 ? '' : 's'}, medians shown.`, '');
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; ${m.engineKind === undefined ? 'dockerd' : `engine kind ${m.engineKind},`} ${m.dockerd} (${m.storageDriver} on ${m.filesystem}), ` +
      `producer and consumer are separate engines; Node ${m.node}; ${Object.entries(m.tools)
        .map(([tool, version]) => `${tool} ${version}`)
        .join(', ')}.`,
    '',
  );
  out.push(
    `Images: \`${first.ref}\` ${mebibytes(first.sizeBytes)} MiB in ${first.layers} layers; \`${second.ref}\` differs only in the top layer` +
      (double === undefined ? '.' : `; \`${double.ref}\` ${mebibytes(double.sizeBytes)} MiB (the RSS check).`),
    '',
  );
  out.push('## Per pattern', '', renderMarkdownTable(patternRows(report.patterns)));
  out.push(`![producer and consumer wall clock per pattern](${chartFile})`, '');
  const cpu = cpuRows(report.patterns);
  if (cpu.length > 1) {
    out.push('## CPU per side', '');
    out.push(
      `Medians of the CPU seconds each side used: the engine's (dockerd and the children it reaped, such as its layer unpacker) and the side's own commands' ` +
        `(every process it ran). "Cores busy" is their sum over the side's wall clock; this machine has ${m.cores}. ` +
        "The registry's server process is not counted.",
      '',
      renderMarkdownTable(cpu),
    );
  }
  out.push('## Targets (issue 5), from this run', '', renderMarkdownTable(targetRows(targets)));
  out.push('## Incremental: the second image after the first', '');
  out.push(
    'The store already holds the first image and the consumer engine already holds it loaded; then the second image ' +
      '(same base, another top layer) is handed over. "Consumer reads" is what the consumer fetched from the store ' +
      '(for the registry, the blobs the pull did not skip); "into engine" is what it streamed into the engine.',
    '',
    renderMarkdownTable(incrementalRows(report.incremental)),
  );
  if (report.phases.export.length + report.phases.load.length > 0) {
    out.push('## Where the handover spends its time', '', renderMarkdownTable(phaseRows(report.phases)));
  }
  out.push('## What each pattern runs', '');
  for (const pattern of report.patterns) {
    out.push(`- **${pattern.label}** — producer: \`${pattern.producerCommand}\`; consumer: \`${pattern.consumerCommand}\`${pattern.rssOf === undefined ? '' : `; RSS of ${pattern.rssOf}`}`);
  }
  out.push('');
  if (report.notes.length > 0) {
    out.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '');
  }
  return out.join('\n');
}
