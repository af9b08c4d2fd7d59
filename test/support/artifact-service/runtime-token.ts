import { createHmac, timingSafeEqual } from 'node:crypto';

/** The ids a runner's token grants: the workflow run and this job within it. */
export interface BackendIds {
  runId: string;
  jobId: string;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * Mints an ACTIONS_RUNTIME_TOKEN as a runner receives it: a JWT whose `scp`
 * claim carries `Actions.Results:<runId>:<jobId>` among other scopes, which is
 * where @actions/artifact reads the backend ids from. Signed with HS256 so
 * the service can refuse a token it did not issue.
 */
export function mintRuntimeToken(ids: BackendIds, secret: Buffer, lifetimeSeconds = 6 * 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({
      scp: `Actions.ExampleScope Actions.Results:${ids.runId}:${ids.jobId}`,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      iss: 'image-handover-test-artifact-service',
    }),
  );
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Verifies a bearer token and returns the ids it grants, or undefined when it is not one of ours. */
export function verifyRuntimeToken(token: string, secret: Buffer): BackendIds | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: { scp?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return undefined;
  }
  if (typeof claims.exp === 'number' && claims.exp < Date.now() / 1000) return undefined;
  if (typeof claims.scp !== 'string') return undefined;
  for (const scope of claims.scp.split(' ')) {
    const [kind, runId, jobId, ...rest] = scope.split(':');
    if (kind === 'Actions.Results' && runId && jobId && rest.length === 0) return { runId, jobId };
  }
  return undefined;
}
