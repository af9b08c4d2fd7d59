import { describe, expect, it } from 'vitest';
import { consumersPerKind, parseKinds, wantedKinds } from '../../support/global-setup.ts';

describe('the integration setup\'s engine kinds', () => {
  it('starts every kind unless HANDOVER_ENGINE_KINDS names some, and 20.10 always', () => {
    expect(wantedKinds({})).toEqual(['20.10', '28-classic', '28-containerd', 'podman']);
    expect(wantedKinds({ HANDOVER_ENGINE_KINDS: ' podman, 28-classic ' })).toEqual(['20.10', 'podman', '28-classic']);
    expect(() => wantedKinds({ HANDOVER_ENGINE_KINDS: '29' })).toThrow(/HANDOVER_ENGINE_KINDS names '29'/);
  });

  it('takes 1 to 4 consumers per kind, 4 by default', () => {
    expect(consumersPerKind({})).toBe(4);
    expect(consumersPerKind({ HANDOVER_ENGINE_CONSUMERS: '2' })).toBe(2);
    expect(() => consumersPerKind({ HANDOVER_ENGINE_CONSUMERS: '5' })).toThrow(/1 to 4/);
  });

  it('reads engines.sh kinds: versions of those available, reasons for the others', () => {
    const kinds = parseKinds('20.10\tavailable\t20.10.24+dfsg1\n28-classic\tunavailable\tthe modern engine is not installed\nbogus\tavailable\t1\n');
    expect(kinds.get('20.10')).toEqual({ available: true, detail: '20.10.24+dfsg1' });
    expect(kinds.get('28-classic')).toEqual({ available: false, detail: 'the modern engine is not installed' });
    expect(kinds.size).toBe(2);
  });
});
