import { describe, expect, it } from 'vitest';
import { mebibytes, percent, ratio, seconds } from '../../../bench/report/format.ts';
import { renderMarkdown } from '../../../bench/report/markdown.ts';
import { escapeXml, niceCeiling, renderSvg } from '../../../bench/report/svg.ts';
import { cpuRows, incrementalRows, patternRows, renderMarkdownTable, renderText } from '../../../bench/report/table.ts';
import { evaluateTargets } from '../../../bench/report/targets.ts';
import { pattern, report } from './fixtures.ts';

describe('formats', () => {
  it('shows seconds, mebibytes, ratios and percentages', () => {
    expect(seconds(5500)).toBe('5.5');
    expect(seconds(Number.NaN)).toBe('—');
    expect(mebibytes(842e6)).toBe('803');
    expect(mebibytes(1.5 * 1024 * 1024)).toBe('1.50');
    expect(mebibytes(undefined)).toBe('—');
    expect(ratio(1.0712)).toBe('1.07×');
    expect(percent(0.0037)).toBe('0.37 %');
    expect(percent(0.2)).toBe('20.0 %');
    expect(percent(-0.0366)).toBe('-3.7 %');
  });
});

describe('patternRows', () => {
  it('has one row per pattern with the ratio to the floor', () => {
    const rows = patternRows(report().patterns);
    expect(rows[0]).toEqual(['pattern', 'producer s', 'consumer s', 'total s', 'vs floor', 'stored MiB', 'peak RSS MiB']);
    expect(rows[1]).toEqual(['floor label', '5.5', '6.0', '11.5', '1.00×', '842', '—']);
    expect(rows[2]).toEqual(['documented label', '36.0', '11.5', '47.5', '4.13×', '301', '2 (zip / unzip)']);
  });

  it('says why a pattern has no figures', () => {
    const rows = patternRows([{ ...pattern('handover', 0, 0, 0), status: 'unavailable', reason: 'no CLI yet' }]);
    expect(rows[1]?.[1]).toBe('not available: no CLI yet');
    expect(rows[1]?.slice(2).every((cell) => cell === '')).toBe(true);
  });
});

describe('renderText', () => {
  it('aligns columns, numbers to the right, and lets a note overflow', () => {
    const text = renderText([
      ['pattern', 'total s', 'stored MiB'],
      ['floor', '11.5', '842'],
      ['zstd', '9.0', '278'],
      ['handover', 'not available: a long reason that is wider than the columns', ''],
    ]);
    expect(text.split('\n')).toEqual([
      'pattern   total s  stored MiB',
      '--------  -------  ----------',
      'floor        11.5         842',
      'zstd          9.0         278',
      'handover  not available: a long reason that is wider than the columns',
      '',
    ]);
  });
});

describe('renderMarkdownTable', () => {
  it('right-aligns numeric columns and escapes pipes', () => {
    const md = renderMarkdownTable([
      ['pattern', 'total s'],
      ['save | zstd', '9.0'],
      ['floor', '11.5'],
    ]);
    expect(md).toBe('| pattern | total s |\n|---|---:|\n| save \\| zstd | 9.0 |\n| floor | 11.5 |\n');
  });

  it('ignores note rows when choosing alignment', () => {
    const md = renderMarkdownTable([
      ['pattern', 'total s', 'stored MiB'],
      ['floor', '11.5', '842'],
      ['handover', 'not available: x', ''],
    ]);
    expect(md.split('\n')[1]).toBe('|---|---:|---:|');
  });
});

describe('incrementalRows', () => {
  it('shows what the second image added and moved', () => {
    expect(incrementalRows(report().incremental)[1]).toEqual(['handover label', '1.00', '0.9', '1.00', '843', '1.2']);
  });
});

describe('cpuRows', () => {
  it('shows the engine and command CPU of each side and the cores they kept busy, for patterns that measured it', () => {
    const patterns = [
      pattern('floor', 3000, 5000, 843e6, { producerCpu: { engineS: 3.5, commandsS: 0.1 }, consumerCpu: { engineS: 6, commandsS: 0.2 } }),
      pattern('documented', 28000, 10000, 333e6),
    ];
    const rows = cpuRows(patterns);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual(['floor label', '3.0', '3.5', '0.1', '1.20', '5.0', '6.0', '0.2', '1.24']);
  });

  it('shows a side it could not measure as a dash', () => {
    const rows = cpuRows([pattern('zstd', 5000, 5000, 1, { producerCpu: { engineS: 3, commandsS: 2 } })]);
    expect(rows[1]?.slice(5)).toEqual(['5.0', '—', '—', '—']);
  });
});

describe('renderMarkdown', () => {
  it('holds the table, the chart, the targets, the incremental case, the phases and the notes', () => {
    const r = report();
    const md = renderMarkdown(r, evaluateTargets(r), 'latest.svg');
    expect(md).toContain('Produced by `npm run bench`');
    expect(md).toContain('| floor label | 5.5 | 6.0 | 11.5 | 1.00× | 842 | — |');
    expect(md).toContain('![producer and consumer wall clock per pattern](latest.svg)');
    expect(md).toContain('| handover total ≤ 1.1 × engine floor total | 12.3 s / 11.5 s = 1.07× | PASS |');
    expect(md).toContain('| handover label | 1.00 | 0.9 | 1.00 | 843 | 1.2 |');
    expect(md).toContain('| export | timings.engineReadMs | 4.0 |');
    expect(md).toContain('- a note');
    expect(md).not.toContain('## CPU per side');
  });

  it('has a CPU section when the sides were metered', () => {
    const r = report({ patterns: [pattern('handover', 5000, 5000, 318e6, { producerCpu: { engineS: 3.6, commandsS: 3.7 }, consumerCpu: { engineS: 6, commandsS: 1.3 } })] });
    const md = renderMarkdown(r, evaluateTargets(r), 'latest.svg');
    expect(md).toContain('## CPU per side');
    expect(md).toContain('this machine has 2');
    expect(md).toContain('| handover label | 5.0 | 3.6 | 3.7 | 1.46 | 5.0 | 6.0 | 1.3 | 1.46 |');
  });
});

describe('renderSvg', () => {
  it('draws two bars per measured pattern and names the ones not measured', () => {
    const patterns = [pattern('floor', 5500, 6000, 1), pattern('zstd', 6800, 5700, 1), { ...pattern('handover', 0, 0, 0), status: 'unavailable' as const, reason: 'no CLI <yet>' }];
    const svg = renderSvg(patterns, { title: 'Handing over & loading' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // 2 legend swatches + background + 2 bars per measured pattern.
    expect(svg.match(/<rect /g)).toHaveLength(3 + 4);
    expect(svg).toContain('Handing over &amp; loading');
    expect(svg).toContain('not measured: handover (no CLI &lt;yet&gt;)');
    expect(svg).toContain('>6.8</text>');
  });

  it('is well-formed: every element opened is closed', () => {
    const svg = renderSvg([pattern('floor', 5500, 6000, 1)], { title: 't' });
    const stack: string[] = [];
    for (const match of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      const [, closing, name, selfClosing] = match;
      if (selfClosing === '/') continue;
      if (closing === '/') expect(stack.pop()).toBe(name);
      else stack.push(name ?? '');
    }
    expect(stack).toEqual([]);
  });

  it('chooses a round axis maximum', () => {
    expect(niceCeiling(50.3)).toBe(60);
    expect(niceCeiling(36)).toBe(40);
    expect(niceCeiling(11.5)).toBe(12);
    expect(niceCeiling(2.1)).toBe(2.5);
    expect(niceCeiling(8.1)).toBe(10);
    expect(niceCeiling(0)).toBe(1);
  });

  it('escapes XML', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
