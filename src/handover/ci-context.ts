import { Annotation } from '../bundle/annotations.ts';

/** Producer facts recorded in the bundle: which tool, and which CI run built it, where known. */
export function producerAnnotations(env: NodeJS.ProcessEnv, toolVersion: string): Record<string, string> {
  const facts: Record<string, string | undefined> = { [Annotation.producerTool]: `image-handover ${toolVersion}` };
  if (env['GITHUB_ACTIONS'] === 'true') {
    const server = env['GITHUB_SERVER_URL'] ?? 'https://github.com';
    Object.assign(facts, {
      [Annotation.ciProvider]: 'github-actions',
      [Annotation.ciRepository]: env['GITHUB_REPOSITORY'],
      [Annotation.ciRun]:
        env['GITHUB_REPOSITORY'] !== undefined && env['GITHUB_RUN_ID'] !== undefined
          ? `${server}/${env['GITHUB_REPOSITORY']}/actions/runs/${env['GITHUB_RUN_ID']}/attempts/${env['GITHUB_RUN_ATTEMPT'] ?? '1'}`
          : undefined,
      [Annotation.ciJob]: env['GITHUB_JOB'],
      [Annotation.ciCommit]: env['GITHUB_SHA'],
      [Annotation.ciRef]: env['GITHUB_REF'],
    });
  } else if (env['GITLAB_CI'] === 'true') {
    Object.assign(facts, {
      [Annotation.ciProvider]: 'gitlab-ci',
      [Annotation.ciRepository]: env['CI_PROJECT_PATH'],
      [Annotation.ciRun]: env['CI_PIPELINE_URL'],
      [Annotation.ciJob]: env['CI_JOB_NAME'],
      [Annotation.ciCommit]: env['CI_COMMIT_SHA'],
      [Annotation.ciRef]: env['CI_COMMIT_REF_NAME'],
    });
  } else if (env['BUILDKITE'] === 'true') {
    Object.assign(facts, {
      [Annotation.ciProvider]: 'buildkite',
      [Annotation.ciRepository]: env['BUILDKITE_REPO'],
      [Annotation.ciRun]: env['BUILDKITE_BUILD_URL'],
      [Annotation.ciJob]: env['BUILDKITE_LABEL'],
      [Annotation.ciCommit]: env['BUILDKITE_COMMIT'],
      [Annotation.ciRef]: env['BUILDKITE_BRANCH'],
    });
  } else if (env['JENKINS_URL'] !== undefined) {
    Object.assign(facts, {
      [Annotation.ciProvider]: 'jenkins',
      [Annotation.ciRun]: env['BUILD_URL'],
      [Annotation.ciJob]: env['JOB_NAME'],
      [Annotation.ciCommit]: env['GIT_COMMIT'],
    });
  } else if (env['CI'] === 'true') {
    facts[Annotation.ciProvider] = 'unknown';
  }
  return Object.fromEntries(Object.entries(facts).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}
