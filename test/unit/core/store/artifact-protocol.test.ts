import { describe, expect, it } from 'vitest';
import { backendIdsFromToken } from '../../../../src/store/github/service/backend-ids.ts';
import { TransientFailure, backoffDelay, parseRetryAfter, withRetries } from '../../../../src/store/github/http/retry.ts';
import { typedThrow } from '../support.ts';

const policy = { maxAttempts: 4, initialDelayMs: 100, multiplier: 2, maxDelayMs: 350 };

describe('retries', () => {
  it('waits exponentially longer, jittered in the upper half, capped, and at least what Retry-After asks', () => {
    expect(backoffDelay(policy, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelay(policy, 1, undefined, () => 1)).toBe(100);
    expect(backoffDelay(policy, 2, undefined, () => 1)).toBe(200);
    expect(backoffDelay(policy, 3, undefined, () => 1)).toBe(350);
    expect(backoffDelay(policy, 1, 300, () => 0)).toBe(300);
    expect(backoffDelay(policy, 1, 60_000, () => 0)).toBe(350);
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('tries a transient failure again up to the bound, and anything else never', async () => {
    const fast = { ...policy, initialDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    await expect(
      withRetries(fast, () => {
        calls++;
        return Promise.reject(new TransientFailure('503'));
      }),
    ).rejects.toThrow('503');
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      withRetries(fast, () => {
        calls++;
        return Promise.reject(new Error('a bug'));
      }),
    ).rejects.toThrow('a bug');
    expect(calls).toBe(1);
    const retried: number[] = [];
    const value = await withRetries(fast, (attempt) => (attempt < 3 ? Promise.reject(new TransientFailure('reset')) : Promise.resolve('ok')), {
      onRetry: (_failure, attempt) => retried.push(attempt),
    });
    expect(value).toBe('ok');
    expect(retried).toEqual([1, 2]);
  });
});

describe('the runtime token', () => {
  const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('names the run and job in its Actions.Results scope', () => {
    expect(backendIdsFromToken(jwt({ scp: 'Actions.ExampleScope Actions.Results:run-1:job-2' }))).toEqual({
      workflowRunBackendId: 'run-1',
      workflowJobRunBackendId: 'job-2',
    });
  });

  it('is refused with what was found when it is not one the service issues', () => {
    expect(typedThrow(() => backendIdsFromToken('not-a-jwt'), 'ARTIFACT_SERVICE').message).toContain('not a JWT');
    expect(typedThrow(() => backendIdsFromToken(jwt({ scp: 'Actions.Other' })), 'ARTIFACT_SERVICE').message).toContain('no Actions.Results scope');
  });
});
