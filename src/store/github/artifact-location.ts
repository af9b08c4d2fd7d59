/** How a GitHub artifacts store names where it is, for messages. Kept light: no SDK imports. */
export function artifactStoreLocation(options: { from?: { runId: number; repository: string } | undefined; runLabel?: string | undefined }): string {
  return options.from === undefined
    ? `GitHub Actions artifacts of ${options.runLabel ?? 'this workflow run'}`
    : `GitHub Actions artifacts of run ${options.from.runId} of ${options.from.repository}`;
}
